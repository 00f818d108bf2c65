nvvgpuctl plan --host L40S --request 'L40S-8Q*2' --release 999.1.0
