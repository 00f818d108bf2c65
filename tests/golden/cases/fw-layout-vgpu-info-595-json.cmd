nvvgpuctl fw layout 595.45.04 NVA081_CTRL_VGPU_INFO --json
