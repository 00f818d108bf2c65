nvvgpuctl plan --host 'T4' --request 'T4-4Q*5' --release 535.113.01
