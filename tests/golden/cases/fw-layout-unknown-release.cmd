nvvgpuctl fw layout 575.51.02 rpc_gsp_rm_control_v03_00
