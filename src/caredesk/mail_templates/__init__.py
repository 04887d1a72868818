"""The packaged email templates (defaults.yaml); admins may override each one in the desk."""
