# haspool's install rules and its Debian package (included by the top CMakeLists.txt).
#
# `scripts/package` configures a Release tree with CMAKE_INSTALL_PREFIX=/usr and runs CPack's DEB
# generator on it. Why CPack and not debhelper: the package is made from this CMake tree, in the
# build directory scripts/package is given, with the shared ccache; dpkg-buildpackage wants a
# debian/ folder at the top of the source tree (whose top holds only the project's areas) and
# writes the .deb into the tree's parent directory, so every build would need a copy of the tree.
# What debhelper would otherwise do is done here, each in one visible place: dpkg-shlibdeps for
# the library Depends (CPACK_DEBIAN_PACKAGE_SHLIBDEPS), stripping (CPACK_STRIP_FILES), md5sums
# (CPack), conffiles and the maintainer scripts (scripts/debian/), gzip -9n of the man pages and
# the changelog (below), the hardening flags (scripts/package, from dpkg-buildflags). lintian and
# tests/package/package_deb.sh check the result.
include(GNUInstallDirs)

# ---- the drill's lab files -------------------------------------------------------------------
# Everything `haspool drill` runs from an installed package, without a source tree. Installed
# under HASPOOL_LAB_INSTALL_DIR at their source-tree paths, so HASPOOL_SOURCE_DIR=<that folder>
# works as it does for a checkout (agent/cli/cmd_drill.cpp looks there after $HASPOOL_SOURCE_DIR
# and the build tree). Paths are from the top of the tree; a folder is installed whole; globs are
# expanded when CMake configures (scripts/package always does). A file executable in the tree is
# installed 0755, any other 0644. Add here whatever the drill comes to source or run:
# tests/package/package_deb.sh fails when a packaged lab file names a $HASPOOL_SOURCE_DIR/...
# path that is not packaged.
set(HASPOOL_LAB_FILES
  scripts/drill
  scripts/vm
  tests/lib.sh
  tests/vm/lib_vm.sh
  tests/vm/lib_debian.sh
  docs/quickstart.md
)
set(HASPOOL_LAB_INSTALL_DIR ${CMAKE_INSTALL_FULL_DATADIR}/haspool/lab)
# The drill's guest image cache when it runs from the installed lab (scripts/vm/build-image
# would otherwise write below the lab folder, in /usr): set as HASPOOL_VM_CACHE by cmd_drill.
set(HASPOOL_VM_CACHE_INSTALL_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/cache/haspool/vm)

# haspool_install_lab_file(PATH): PATH (from the top of the tree) into the lab, mode kept.
function(haspool_install_lab_file path)
  get_filename_component(parent ${path} DIRECTORY)
  execute_process(COMMAND test -x ${PROJECT_SOURCE_DIR}/${path} RESULT_VARIABLE not_executable)
  if(not_executable)
    install(FILES ${PROJECT_SOURCE_DIR}/${path} DESTINATION ${HASPOOL_LAB_INSTALL_DIR}/${parent})
  else()
    install(PROGRAMS ${PROJECT_SOURCE_DIR}/${path} DESTINATION ${HASPOOL_LAB_INSTALL_DIR}/${parent})
  endif()
endfunction()

set(HASPOOL_LAB_PACKAGED "")  # every file, expanded
foreach(entry IN LISTS HASPOOL_LAB_FILES)
  file(GLOB matches LIST_DIRECTORIES true RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${entry})
  if(NOT matches)
    message(FATAL_ERROR "HASPOOL_LAB_FILES: '${entry}' names nothing in ${PROJECT_SOURCE_DIR}")
  endif()
  foreach(match IN LISTS matches)
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${match})
      file(GLOB_RECURSE files RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${match}/*)
    else()
      set(files ${match})
    endif()
    foreach(f IN LISTS files)
      haspool_install_lab_file(${f})
      list(APPEND HASPOOL_LAB_PACKAGED ${f})
    endforeach()
  endforeach()
endforeach()
# The expanded list, one path a line, for tests/package/package_deb.sh to check the .deb against.
set(gen ${CMAKE_BINARY_DIR}/package-files)
list(JOIN HASPOOL_LAB_PACKAGED "\n" lab_lines)
file(WRITE ${gen}/lab-files.txt "${lab_lines}\n")

# ---- the rest of the package -----------------------------------------------------------------
set(pkg ${PROJECT_SOURCE_DIR}/scripts/debian)

# Debian 12's units live in /lib/systemd/system (the move to /usr/lib came after bookworm); a
# `cmake --install` under another prefix keeps them below it.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(HASPOOL_SYSTEMD_UNIT_DIR /lib/systemd/system)
else()
  set(HASPOOL_SYSTEMD_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/scripts/systemd/haspool-primary.service
              ${PROJECT_SOURCE_DIR}/scripts/systemd/haspool-standby.service
        DESTINATION ${HASPOOL_SYSTEMD_UNIT_DIR})

# The configuration the units read: the example, a conffile (dpkg keeps the admin's edits).
set(HASPOOL_CONFIG_FILE ${CMAKE_INSTALL_FULL_SYSCONFDIR}/haspool/haspool.yaml)
install(FILES ${PROJECT_SOURCE_DIR}/config/haspool.example.yaml
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/haspool RENAME haspool.yaml)
# The primary attaches the standby's export through the kernel's nbd driver (netlink needs the
# module loaded); md's raid1 the kernel loads on demand by itself.
install(FILES ${pkg}/modules-load.conf DESTINATION lib/modules-load.d RENAME haspool.conf)
install(FILES ${pkg}/haspool.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME haspool)
# journald's catalog of haspool's MESSAGE_IDs (journalctl -x); systemd's dpkg trigger on this
# directory runs journalctl --update-catalog.
install(FILES ${pkg}/haspool.catalog DESTINATION lib/systemd/catalog)
# hooks.notify's shipped command (docs/actions.md "Mail alerts"): a helper run by the daemon's
# configuration, not by users, hence libexec.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/notify/haspool-mail-alert
        DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/haspool)
# The lintian hints that stay, each explained in the file.
install(FILES ${pkg}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME haspool)

# The changelog's newest entry must be this version: a version bump without an entry fails here.
file(STRINGS ${pkg}/changelog changelog_head LIMIT_COUNT 1)
if(NOT changelog_head MATCHES "^haspool \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "scripts/debian/changelog starts with '${changelog_head}', "
                      "not an entry for haspool ${PROJECT_VERSION} (the project's VERSION)")
endif()

# gzip -9n (no name, no time stamp: the same bytes on every build), as dh_compress does.
set(compressed "")
foreach(pair "docs/man/haspool.8;haspool.8.gz" "docs/man/haspool.yaml.5;haspool.yaml.5.gz"
             "scripts/debian/changelog;changelog.gz")
  list(GET pair 0 src)
  list(GET pair 1 out)
  add_custom_command(OUTPUT ${gen}/${out}
    COMMAND sh -c "gzip -9n <'${PROJECT_SOURCE_DIR}/${src}' >'${gen}/${out}'"
    DEPENDS ${PROJECT_SOURCE_DIR}/${src} VERBATIM)
  list(APPEND compressed ${gen}/${out})
endforeach()
add_custom_target(haspool_package_files ALL DEPENDS ${compressed})
install(FILES ${gen}/haspool.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${gen}/haspool.yaml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

install(FILES ${pkg}/copyright ${gen}/changelog.gz ${pkg}/README.Debian ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/ beside README.md, so its links (docs/design.md ...) work in /usr/share/doc/haspool too.
file(GLOB haspool_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${haspool_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
# config/CMakeLists.txt installs the example itself, beside README.md.

# ---- the .deb (CPack's DEB generator) --------------------------------------------------------
configure_file(${pkg}/conffiles.in ${gen}/conffiles @ONLY)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME haspool)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # haspool_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Seed fdce7845 maintainers <maintainers@users.noreply.r-seed-fdce7845.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "failover for a mail spool mirrored over NBD with md RAID-1")
# The body only: CPack puts the summary on the Description line itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "haspool keeps a mail spool alive when its server dies. The spool is an md
RAID-1 of the primary's own disk and the standby's disk, reached over the
Network Block Device protocol. Agents on both hosts watch each other with
authenticated heartbeats; the standby takes the spool, the service address
and the mail units over when the primary is gone, and hands them back
without losing an acknowledged message.
.
The units haspool-primary.service and haspool-standby.service are installed
but neither enabled nor started: a node runs once /etc/haspool/haspool.yaml
is written and its first start was made with --init (README.Debian).")
# Depends: the libraries from dpkg-shlibdeps, plus the tools haspool runs (the code's argv):
#   mdadm      md RAID-1 create/assemble/add/fail/remove/stop/detail (raid/md_control.cpp)
#   e2fsprogs  e2fsck -p before every mount, mke2fs on --init (agent/system/actions, core/plans)
#   mount      mount(8) of the spool (the unmount is umount2(2), no tool)
#   kmod       the kernel loads md's raid1 personality on demand through /sbin/modprobe
# blkid is util-linux's, which is Essential (depending on it is a lintian error). The loop
# device of the raw takeover and the service address (netlink, packet sockets) need no tool.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "mdadm, e2fsprogs, mount, kmod")
# Suggests: xfsprogs for spool.filesystem: xfs (mkfs.xfs, xfs_repair); postfix, the mail server
# the units are written for (any MTA works); msmtp, which haspool-mail-alert sends with (not
# msmtp-mta: that one is an MTA, which would replace postfix); bash-completion loads the
# completion; and the host tools of `haspool drill`: QEMU, the guest image's makers, ip(8) for
# its namespace and bridge, python3 for its checks. iproute2 is no Depends: haspool itself never
# runs ip(8).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "xfsprogs, postfix, msmtp, bash-completion, qemu-system-x86, mmdebstrap, busybox-static, cpio, iproute2, python3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${gen}/conffiles ${pkg}/postinst ${pkg}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # 0644 control files, 0755 scripts
set(CPACK_STRIP_FILES ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/deb)
include(CPack)
