nvvgpuctl plan --host 'L40S*2,H200' --request 'L40S-8Q*7,L40S-2Q*3' --policy @SRCDIR@/policy/density.json
