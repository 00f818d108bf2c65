nvvgpuctl fw layout 580.159.04 rpc_gsp_rm_control_v03_00
