nvvgpuctl plan --host 'T4*2,A40' --request 'T4-4C*3:vm=a:tenant=lab,A40-24C*2:vm=b:tenant=acme,8G*4:vm=c:tenant=acme' --policy @SRCDIR@/policy/tenants.json --json
