nvvgpuctl plan --host 'L40S:numa=0,L40S:numa=1,H200:numa=1' --request '16G*2:numa=1:vm=a,8G:series=C,H200X-70C*3'
