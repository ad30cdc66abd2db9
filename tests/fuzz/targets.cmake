# The libFuzzer targets: haspool_fuzz_target(NAME SOURCE LIBRARY SOURCES FILE...), the target's
# source under tests/fuzz/, the library whose headers and dependencies it uses, and the files of
# that library it exercises (the fuzz build compiles just these into the target, not whole
# libraries: the smoke run's build stays within the fuzz label's time). Seeds in
# tests/fuzz/corpus/NAME/. Included by the fuzz build (fuzz_build.cmake: executables) and by the
# test suite (CMakeLists.txt: the smoke run, label fuzz); scripts/fuzz reads the names here.
haspool_fuzz_target(fuzz_heartbeat agent/fuzz_heartbeat.cpp haspool_core
  SOURCES agent/peer/heartbeat_codec.cpp agent/peer/replay_window.cpp agent/peer/peer_gate.cpp agent/core/types.cpp)
haspool_fuzz_target(fuzz_control agent/fuzz_control.cpp haspool_core
  SOURCES agent/control/control_protocol.cpp)
haspool_fuzz_target(fuzz_smtp_session agent/fuzz_smtp_session.cpp haspool_lab
  SOURCES agent/lab/smtp_session.cpp agent/lab/line_buffer.cpp)
haspool_fuzz_target(fuzz_nbd_codec blockdev/fuzz_nbd_codec.cpp haspool_blockdev
  SOURCES blockdev/nbd_codec.cpp)
haspool_fuzz_target(fuzz_nbd_client blockdev/fuzz_nbd_client.cpp haspool_blockdev
  SOURCES blockdev/nbd_client_handshake.cpp blockdev/nbd_codec.cpp blockdev/socket_io.cpp blockdev/byte_channel.cpp
          blockdev/tls_psk.cpp blockdev/tls_channel.cpp blockdev/ktls.cpp)
haspool_fuzz_target(fuzz_nbd_server blockdev/fuzz_nbd_server.cpp haspool_blockdev
  SOURCES blockdev/nbd_codec.cpp blockdev/socket_io.cpp blockdev/nbd_server_handshake.cpp blockdev/nbd_session.cpp
          blockdev/byte_channel.cpp blockdev/tls_psk.cpp blockdev/tls_channel.cpp blockdev/ktls.cpp
          blockdev/export_device.cpp)
haspool_fuzz_target(fuzz_md_status raid/fuzz_md_status.cpp haspool_core
  SOURCES agent/core/md_transitions.cpp)
haspool_fuzz_target(fuzz_md_bitmap raid/fuzz_md_bitmap.cpp haspool_raid
  SOURCES raid/md_bitmap.cpp)
haspool_fuzz_target(fuzz_mdadm_examine raid/fuzz_mdadm_examine.cpp haspool_raid
  SOURCES raid/md_bitmap.cpp)
haspool_fuzz_target(fuzz_config config/fuzz_config.cpp haspool_config
  SOURCES config/config_loader.cpp)
