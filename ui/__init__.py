"""Streamlit helpers shared by the pages: page frame and menu, URL state, common controls."""
