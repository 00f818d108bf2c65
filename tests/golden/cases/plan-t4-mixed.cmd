nvvgpuctl plan --host 'T4:mode=mixed-size' --request 'T4-4Q'
