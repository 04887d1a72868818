"""The packaged empowerment policies: the default and the tau-bench retail one, as YAML."""
