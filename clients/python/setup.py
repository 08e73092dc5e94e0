"""Build hook: generates the ggufd.v1 protobuf and gRPC modules with
grpc_tools.protoc before setuptools collects the package, so that
`pip install ./clients/python` (regular or editable) and the test suite
always use code generated from the protos they ship with.

The protos are found in $GGUFD_PROTO_DIR, else the repository's proto/ two
folders up, else the proto/ copy that `sdist` puts into source archives.
"""

from __future__ import annotations

import os
import pathlib
import shutil

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.command.egg_info import egg_info
from setuptools.command.sdist import sdist

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE / "src"
# google.rpc and grpc.health come from googleapis-common-protos and
# grpcio-health-checking; only the ggufd API itself is generated here.
PROTO_PACKAGE = pathlib.PurePosixPath("ggufd/v1")


def proto_root() -> pathlib.Path:
    candidates = []
    if os.environ.get("GGUFD_PROTO_DIR"):
        candidates.append(pathlib.Path(os.environ["GGUFD_PROTO_DIR"]))
    candidates += [HERE.parent.parent / "proto", HERE / "proto"]
    for root in candidates:
        if (root / PROTO_PACKAGE).is_dir():
            return root
    raise RuntimeError(
        "ggufd protos not found (looked in %s); set GGUFD_PROTO_DIR"
        % ", ".join(str(c) for c in candidates)
    )


class GenerateProtos(Command):
    """Runs grpc_tools.protoc on proto/ggufd/v1/*.proto into src/ggufd/v1."""

    description = "generate the ggufd.v1 protobuf/gRPC modules"
    user_options: list = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        # Imported here: only the build needs grpcio-tools.
        import importlib.resources

        from grpc_tools import protoc

        root = proto_root()
        out = SRC / PROTO_PACKAGE
        # Start clean so a proto removed upstream leaves no stale module.
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        (out / "__init__.py").write_text(
            '"""Generated from proto/ggufd/v1 by the build; do not edit."""\n'
        )
        protos = sorted(
            str(PROTO_PACKAGE / p.name) for p in (root / PROTO_PACKAGE).glob("*.proto")
        )
        well_known = importlib.resources.files("grpc_tools") / "_proto"
        args = [
            "grpc_tools.protoc",
            f"--proto_path={root}",
            f"--proto_path={well_known}",
            f"--python_out={SRC}",
            f"--pyi_out={SRC}",
            f"--grpc_python_out={SRC}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("grpc_tools.protoc failed on " + " ".join(protos))


# Metadata (egg_info, which dist_info and editable installs also run) needs
# the ggufd.v1 package folder to exist, and build_py needs its modules; the
# distribution runs generate_protos once however many of them ask.
class EggInfo(egg_info):
    def run(self) -> None:
        self.run_command("generate_protos")
        super().run()


class BuildPy(build_py):
    def run(self) -> None:
        self.run_command("generate_protos")
        super().run()


class SdistWithProtos(sdist):
    """Source archives carry the protos, since ../../proto is not in them."""

    def make_release_tree(self, base_dir: str, files: list) -> None:
        super().make_release_tree(base_dir, files)
        root = proto_root()
        dest = pathlib.Path(base_dir) / "proto" / PROTO_PACKAGE
        dest.mkdir(parents=True, exist_ok=True)
        for p in (root / PROTO_PACKAGE).glob("*.proto"):
            shutil.copy2(p, dest / p.name)


setup(
    cmdclass={
        "generate_protos": GenerateProtos,
        "egg_info": EggInfo,
        "build_py": BuildPy,
        "sdist": SdistWithProtos,
    }
)
