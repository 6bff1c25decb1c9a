{
  "variables": {
    "fedsim_onednn%": "<!(node scripts/has-onednn.cjs)"
  },
  "targets": [
    {
      "target_name": "fedsim_native_kernels",
      "sources": ["src/addon.cc", "src/kernels.cc", "src/conv-onednn.cc"],
      "libraries": ["-lopenblas"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-ffp-contract=off"],
      "cflags_cc!": ["-fno-rtti"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["fedsim_onednn==1", {
          "defines": ["FEDSIM_ONEDNN"],
          "libraries": ["-ldnnl"]
        }]
      ]
    },
    {
      "target_name": "fedsim_env",
      "sources": ["src/env.cc"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
