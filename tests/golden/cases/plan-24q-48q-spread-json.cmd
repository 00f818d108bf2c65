nvvgpuctl plan --host 'L40S*2' --request 'L40S-24Q*2,L40S-48Q' --policy @SRCDIR@/policy/performance.json --json
