# Files compiled into the binary, so that castera serves them with nothing beside it:
#
#   castera_embed(<target> <name> <base directory> <files...>)
#
# adds to <target> a generated source that defines
#   std::string_view castera::embedded::<name>(std::string_view path)
# answering a file's bytes by its path under <base directory> ("admin.css"), or an empty
# view for any other path. The file is regenerated when one of the files changes.
function(castera_embed target name base)
  set(out "${CMAKE_BINARY_DIR}/embedded/${name}.cpp")
  set(files "")
  foreach(f IN LISTS ARGN)
    list(APPEND files "${CMAKE_SOURCE_DIR}/${f}")
  endforeach()
  string(REPLACE ";" "|" file_list "${files}")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" "-DOUT=${out}" "-DNAME=${name}" "-DBASE=${CMAKE_SOURCE_DIR}/${base}"
            "-DFILES=${file_list}" -P "${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake"
    DEPENDS ${files} "${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake"
    COMMENT "Embedding ${name}")
  target_sources(${target} PRIVATE "${out}")
endfunction()
