from django.contrib.admin.apps import AdminConfig


class SitthiAdminConfig(AdminConfig):
    """The admin, with Sitthi's own site (config.admin) as `admin.site`."""

    default_site = "config.admin.SitthiAdminSite"
