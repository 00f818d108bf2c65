nvvgpuctl plan --host 'L40S*2' --request 'L40S-8Q' --policy @SRCDIR@/tests/golden/data/bad-policy.json
