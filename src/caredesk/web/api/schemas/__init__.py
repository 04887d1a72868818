"""Request and response bodies of the REST API, a module per feature; `base` holds what
every feature's bodies share (strict requests, money as a decimal string, pages)."""
