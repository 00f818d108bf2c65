nvvgpuctl fw decode 550.40.07 @SRCDIR@/tests/golden/input/550.40.07-sched_set_state.bin --all
