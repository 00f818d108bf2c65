nvvgpuctl plan --host 'L40S*2' --request 'L40S-7Q'
