nvvgpuctl fw layout 570.144 NVA081_CTRL_VGPU_INFO
