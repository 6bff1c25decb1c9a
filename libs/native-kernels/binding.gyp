{
  "targets": [
    {
      "target_name": "fedsim_native_kernels",
      "sources": ["src/addon.cc", "src/kernels.cc"],
      "libraries": ["-lopenblas"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-ffp-contract=off"],
      "cflags_cc!": ["-fno-rtti"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
