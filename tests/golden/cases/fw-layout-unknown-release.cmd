nvvgpuctl fw layout 585.12.01 rpc_gsp_rm_control_v03_00
