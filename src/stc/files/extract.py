"""Writing tar members below one folder without ever following a link: safe whatever ``tarfile`` is.

Every member is created relative to an open descriptor of the staging folder, one path
component at a time (``os.open(..., dir_fd=..., O_NOFOLLOW | O_DIRECTORY)``): a component
that is a symlink (necessarily one the archive created, since the staging folder is new and
private) or a file is refused, so no write can pass through a link, whatever its target and
however long the path (the CVE-2025-4517 technique defeats ``os.path.realpath``, not this).
Symlinks are stored as they are, and once every member is written each one is resolved
against the archive's own links, bounded in steps; one whose target leaves the folder fails
the whole extraction.  Modes are applied without group or other write bits unless asked,
never the archive's owner, and folders get theirs after their contents, deepest first.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from dataclasses import dataclass, field

from ..errors import FormatError
from .outputs import current_umask

#: Symlinks expanded while resolving one link's target before it is called a loop (Linux: 40).
MAX_LINK_STEPS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_COPY = 1 << 20


class FolderError(FormatError):
    """An archive member is unsafe or malformed (path traversal, device file, setuid...)."""


def split_member(name: str) -> list[str]:
    """The path components of a member name (``./`` and empty components dropped)."""
    return [part for part in name.split("/") if part not in ("", ".")]


@dataclass
class Extractor:
    """Creates members below the directory open as ``root_fd``; :meth:`finish` completes it."""

    root_fd: int
    preserve_permissions: bool = False
    umask: int = field(default_factory=current_umask)
    _dirs: list[tuple[list[str], int, float]] = field(default_factory=list)
    _links: dict[tuple[str, ...], str] = field(default_factory=dict)

    def mode_of(self, member: tarfile.TarInfo) -> int:
        """The permission bits to give: the archive's, less group/other write and the umask,
        unless ``preserve_permissions`` (then all but setuid/setgid, which are refused)."""
        if self.preserve_permissions:
            return stat.S_IMODE(member.mode) & 0o1777
        return stat.S_IMODE(member.mode) & 0o755 & ~self.umask

    def _parent(self, parts: list[str], name: str, create: bool) -> int:
        """A descriptor of the folder holding ``parts[-1]``, reached without following any link."""
        fd = os.dup(self.root_fd)
        try:
            for part in parts[:-1]:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise FolderError(f"archive member {name!r}: links to a path not in the archive") from None
                    os.mkdir(part, 0o700, dir_fd=fd)  # a folder the archive implies but does not list
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        raise FolderError(f"archive member {name!r}: its path passes through a symlink or a "
                                          f"file ({part!r}); refused") from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        """Create one (already checked) member: folder, regular file, symlink or hard link."""
        parts = split_member(member.name)
        if not parts:
            if member.isdir():
                return  # the archive's "." entry: the folder itself
            raise FolderError(f"archive member {member.name!r}: no name")
        parent = self._parent(parts, member.name, create=True)
        last = parts[-1]
        try:
            if member.isdir():
                self._mkdir(parent, last, member)
                self._dirs.append((parts, self.mode_of(member), member.mtime))
            elif member.issym():
                self._free(parent, last, member.name)
                os.symlink(member.linkname, last, dir_fd=parent)
                os.utime(last, (member.mtime, member.mtime), dir_fd=parent, follow_symlinks=False)
                self._links[tuple(parts)] = member.linkname
            elif member.islnk():
                self._free(parent, last, member.name)
                self._hardlink(parent, last, member)
            else:
                self._free(parent, last, member.name)
                self._write(tar, member, parent, last)
        finally:
            os.close(parent)

    @staticmethod
    def _free(parent: int, last: str, name: str) -> None:
        try:
            os.stat(last, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        raise FolderError(f"archive member {name!r} appears twice or over another member; refused")

    @staticmethod
    def _mkdir(parent: int, last: str, member: tarfile.TarInfo) -> None:
        try:
            os.mkdir(last, 0o700, dir_fd=parent)
        except FileExistsError:
            if not stat.S_ISDIR(os.stat(last, dir_fd=parent, follow_symlinks=False).st_mode):
                raise FolderError(f"archive member {member.name!r}: a folder over another member; refused") from None

    def _write(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent: int, last: str) -> None:
        source = tar.extractfile(member)
        fd = os.open(last, _FILE_FLAGS, 0o600, dir_fd=parent)
        try:
            if source is not None:
                while block := source.read(_COPY):
                    view = memoryview(block)
                    while view:
                        view = view[os.write(fd, view):]
            os.fchmod(fd, self.mode_of(member))
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)

    def _hardlink(self, parent: int, last: str, member: tarfile.TarInfo) -> None:
        target = split_member(member.linkname)
        if not target:
            raise FolderError(f"archive member {member.name!r}: a hard link with no target")
        source = self._parent(target, member.name, create=False)
        try:
            st = os.stat(target[-1], dir_fd=source, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                raise FolderError(f"archive member {member.name!r}: a hard link to something other than a file")
            os.link(target[-1], last, src_dir_fd=source, dst_dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise FolderError(f"archive member {member.name!r}: links to a path not in the archive") from None
        finally:
            os.close(source)

    def finish(self) -> None:
        """Refuse any symlink that resolves outside the folder; then folder modes, deepest first."""
        for parts, target in self._links.items():
            self.check_link(parts, target)
        for path, mode, mtime in reversed(self._dirs):
            parent = self._parent(path, "/".join(path), create=False)
            try:
                fd = os.open(path[-1], _DIR_FLAGS, dir_fd=parent)
            finally:
                os.close(parent)
            try:
                os.fchmod(fd, mode)
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)

    def check_link(self, parts: tuple[str, ...], target: str) -> None:
        """Resolve ``target`` from the link's folder through the archive's own links; refuse an
        escape (a ``..`` above the folder) or more than :data:`MAX_LINK_STEPS` expansions."""
        name = "/".join(parts)
        if target.startswith("/"):
            raise FolderError(f"archive member {name!r}: link to an absolute path ({target})")
        where: list[str] = list(parts[:-1])
        pending = list(reversed(target.split("/")))
        steps = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not where:
                    raise FolderError(f"archive member {name!r}: link pointing outside the folder ({target})")
                where.pop()
                continue
            where.append(part)
            inner = self._links.get(tuple(where))
            if inner is not None:
                steps += 1
                if steps > MAX_LINK_STEPS or inner.startswith("/"):
                    raise FolderError(f"archive member {name!r}: link pointing outside the folder or in a loop "
                                      f"({target})")
                where.pop()  # a link resolves from its own folder
                pending.extend(reversed(inner.split("/")))


__all__ = ["MAX_LINK_STEPS", "Extractor", "FolderError", "current_umask", "split_member"]
