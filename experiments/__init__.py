"""What each page computes, without Streamlit: per page a ``Settings`` (every control,
its default, range and kind; the URL schema; what a lesson stages) and a pure
``run(settings) -> Result``. See ``experiments/schema.py``."""
