"""The memory tier of a workflow (``memoryTier``) as the memory limit an instance runs with.

A tier (S 8 MB, M 64 MB, L 128 MB, XL 256 MB; DSL.md) is the workflow author's
ceiling. Every way an instance runs enforces it: the process runner (cgroup memory,
else the address-space rlimit), the docker runner (container memory and swap) and
``runtara run`` (the address-space rlimit). An image may ask for less memory than its
tier, never more.

Without a cgroup the limit is the address space, which also counts what is reserved
but unused: instances run with one malloc arena (:data:`ALLOCATOR_ENVIRONMENT`) and
the tier's thread stack size, so that address space stays close to real use.

A Python (or Nuitka) instance cannot start in 8 MB: no tier limit goes below
:data:`MIN_MEMORY_BYTES`, so tier S runs with that floor (and says so in the limits
the instance records).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import replace

from runtara.dsl import MEMORY_TIER_BYTES
from runtara.errors import Error
from runtara.runtime.runners.resources import Limits

#: The least memory an instance process (interpreter, runtime, one agent) starts in.
MIN_MEMORY_BYTES = 64 << 20
#: Stack per thread of each tier (runtara-spec: S 1 MB, M 4 MB, L and XL 8 MB).
STACK_BYTES = {"S": 1 << 20, "M": 4 << 20, "L": 8 << 20, "XL": 8 << 20}
#: Set for every instance: one malloc arena for all threads. Each extra arena reserves
#: 64 MiB of address space it never uses, which an address-space limit counts.
ALLOCATOR_ENVIRONMENT = {"MALLOC_ARENA_MAX": "1"}


class TierError(Error, ValueError):
    """An image asks for more memory than its workflow's tier, or names no known tier."""


def check_tier(tier: str) -> str:
    if tier not in MEMORY_TIER_BYTES:
        raise TierError(f"memory tier {tier!r} is not one of {', '.join(MEMORY_TIER_BYTES)}")
    return tier


def tier_bytes(tier: str) -> int:
    """The memory limit of ``tier`` (floored at :data:`MIN_MEMORY_BYTES`)."""
    return max(MEMORY_TIER_BYTES[check_tier(tier)], MIN_MEMORY_BYTES)


def within_tier(limits: Limits, tier: str) -> Limits:
    """``limits`` with the tier's memory when they name none; refused above the tier."""
    ceiling = tier_bytes(tier)
    limits = replace(limits, stack_bytes=STACK_BYTES[tier])
    if limits.memory_bytes is None:
        return replace(limits, memory_bytes=ceiling)
    if limits.memory_bytes > ceiling:
        raise TierError(
            f"memory {limits.memory_bytes} bytes is above the workflow's memoryTier {tier} "
            f"({ceiling >> 20} MiB); raise the tier in the workflow, or ask for less"
        )
    return limits


#: The file name of a native workflow binary (``runtara.compiler.native``'s launcher).
NATIVE_BINARY = "runtara-workflow"


def program_allowance(argv0: str) -> int:
    """Address space a native workflow binary's own code takes: its executable's size.

    The binary holds the interpreter and every module as code, mapped whole (a 23 MB
    binary maps 62 MB before its first step, where CPython maps 42 MB for the same
    workflow), so under an address-space limit a compiled workflow had less room for
    its data than the interpreted one: at tier M a Split could not start its threads.
    The allowance gives it back; 0 for anything else (an interpreter, a command).
    """
    if os.path.basename(argv0) != NATIVE_BINARY:
        return 0
    try:
        return os.path.getsize(argv0)
    except OSError:
        return 0


def memory_limits(tier: str, program: str | None = None) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the child's address space at the tier's memory (plus a
    native ``program``'s own code, :func:`program_allowance`) and its thread stacks at
    the tier's stack (never above a hard limit already in force)."""
    space = tier_bytes(tier) + (program_allowance(program) if program else 0)
    wanted = [(resource.RLIMIT_AS, space), (resource.RLIMIT_STACK, STACK_BYTES[tier])]

    def setup() -> None:
        for which, value in wanted:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))

    return setup
