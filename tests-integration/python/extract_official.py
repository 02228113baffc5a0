"""Writes the official bosdyn-api descriptors as one encoded FileDescriptorSet.

Usage: python extract_official.py OUTPUT_PATH

The bosdyn-api wheel ships no .proto files: each bosdyn/api/**/*_pb2.py embeds its serialized
FileDescriptorProto as the bytes literal passed to AddSerializedFile(b'...'). This script finds the
installed bosdyn.api package of the running interpreter without importing it or its modules, reads
those literals from the source text with a regex and ast.literal_eval, and writes them as field 1
(`file`) of a FileDescriptorSet. It needs nothing beyond the standard library and bosdyn-api.
On success it prints one line, "bosdyn-api <version>: <n> files -> <path>"; the conformance test
in ../tests/conformance.rs reads the version from it.
"""

import ast
import importlib.metadata
import importlib.util
import pathlib
import re
import sys

# The bytes literal passed to AddSerializedFile (protoc's Python generator always emits b'...'
# on one line, but both quote styles are accepted).
LITERAL = re.compile(r"""AddSerializedFile\(\s*(b'(?:[^'\\\n]|\\.)*'|b"(?:[^"\\\n]|\\.)*")\s*\)""")


def fail(message):
    sys.exit(f"extract_official.py: {message}")


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def package_dirs():
    """The directories of the installed bosdyn.api package (its parent is imported, not it)."""
    try:
        spec = importlib.util.find_spec("bosdyn.api")
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        fail(f"bosdyn.api is not installed for {sys.executable}; install bosdyn-api==5.2.0")
    return [pathlib.Path(p) for p in spec.submodule_search_locations]


def main():
    if len(sys.argv) != 2:
        fail("usage: extract_official.py OUTPUT_PATH")
    output = pathlib.Path(sys.argv[1])

    sources = sorted(p for d in package_dirs() for p in d.rglob("*_pb2.py"))
    if not sources:
        fail(f"no *_pb2.py files under {', '.join(map(str, package_dirs()))}")

    encoded = bytearray()
    for source in sources:
        match = LITERAL.search(source.read_text(encoding="utf-8"))
        if match is None:
            fail(f"{source}: no AddSerializedFile(b'...') literal found")
        descriptor = ast.literal_eval(match.group(1))
        encoded += b"\x0a" + varint(len(descriptor)) + descriptor  # field 1, length-delimited

    try:
        version = importlib.metadata.version("bosdyn-api")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    output.write_bytes(bytes(encoded))
    print(f"bosdyn-api {version}: {len(sources)} files -> {output}")


if __name__ == "__main__":
    main()
