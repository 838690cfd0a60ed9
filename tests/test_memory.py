"""ui.runtime.trim_after_compiles: the memory a compile frees goes back to the OS."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def _rss_after_compiles(trim: bool) -> float:
    code = textwrap.dedent(f"""
        import jax, jax.numpy as jnp
        from ui import runtime
        if {trim}:
            assert runtime.trim_after_compiles()
        def rss():
            return int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6
        # Forty distinct programs of some size: their compiles allocate and free a lot.
        for i in range(40):
            def f(x, i=i):
                for k in range(30):
                    x = jnp.sin(x * (i + k + 1.0)) + jnp.cos(x) @ x.T @ x
                return x
            jax.jit(f).lower(jnp.ones((8, 8))).compile()
        print(rss())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return float(out.stdout.split()[-1])


def test_trimming_after_compiles_keeps_the_process_smaller():
    untrimmed, trimmed = _rss_after_compiles(False), _rss_after_compiles(True)
    assert trimmed < untrimmed - 20, (trimmed, untrimmed)
