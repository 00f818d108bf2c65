sh @SRCDIR@/tests/golden/data/with-daemon.sh 'L40S@595.45.04,H200@580.65.06' 'nvvgpuctl create --type L40S-4Q --uuid 5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc01 >/dev/null && nvvgpuctl status --prometheus'
