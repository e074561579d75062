"""The four staff roles as groups with their permissions.

Permissions are normally created after all migrations (post_migrate), so they
are created here first. The same grants rerun after every `migrate`
(organisers.apps), which is how permissions added later by other apps
(statements' review and publish) reach the roles.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def roles_create(apps, schema_editor):  # type: ignore[no-untyped-def]
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from core.roles import CAMPAIGN_LEAD, MODERATOR, ORGANISER, VIEWER, role_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in (ORGANISER, CAMPAIGN_LEAD, MODERATOR, VIEWER):
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(role_permissions(role)))


class Migration(migrations.Migration):
    dependencies = [
        ("organisers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("signatures", "0001_initial"),
        ("campaigns", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
