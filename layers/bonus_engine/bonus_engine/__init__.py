"""Creator bonus engine: the domain, its rules and its storage, shared by every function.

Imported the same way everywhere: in Lambda (from the layer, under /opt/python), in the
tests and in the local tools (installed in .venv from layers/bonus_engine).
"""
