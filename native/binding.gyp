{
  "variables": {"catbox_pcre2%": "<!(sh ./detect-pcre2.sh)"},
  "targets": [{
    "target_name": "catbox_native",
    "sources": [
      "addon.cc",
      "syscalls.cc",
      "seccomp.cc",
      "memory.cc",
      "resolver.cc",
      "rules.cc",
      "policy.cc",
      "supervisor/child.cc",
      "supervisor/launch.cc",
      "supervisor/loop.cc",
      "supervisor/notifier.cc",
      "supervisor/acting.cc",
      "act/act.cc",
      "syscall/dispatch.cc",
      "syscall/checks_path.cc",
      "syscall/checks_net.cc",
      "syscall/checks_process.cc",
      "extension/guest_paths.cc",
      "extension/guest_exec.cc",
      "extension/guest_write.cc",
      "overlay/lookup.cc",
      "overlay/copy_up.cc",
      "overlay/listing.cc",
      "recorder.cc",
      "tracelog.cc",
      "owners.cc",
      "fakeroot.cc",
      "procfs.cc",
      "standin.cc"
    ],
    "include_dirs": ["."],
    "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
    "defines": ["NAPI_VERSION=8"],
    "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
    "conditions": [
      ["OS!='linux'", {"type": "none"}],
      ["catbox_pcre2=='true'", {
        "defines": ["CATBOX_HAVE_PCRE2", "PCRE2_CODE_UNIT_WIDTH=8"],
        "cflags_cc": ["<!@(pkg-config --cflags libpcre2-8)"],
        "libraries": ["<!@(sh ./detect-pcre2.sh --libs)"]
      }]
    ]
  }]
}
