"""The audit log and the staff-access permissions, moved down from organisers
to the shared base. The table is renamed; no row changes."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

APP = "core"
MOVED = ['organiseraccess', 'auditentry']


def content_types_move(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Permissions and admin history follow the models to their new app.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=APP, model=model).exists():
            ContentType.objects.filter(app_label="organisers", model=model).update(app_label=APP)


class Migration(migrations.Migration):

    dependencies = [
        ('organisers', '0003_generated_file_options'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OrganiserAccess',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ],
                    options={
                        'permissions': [('view_personal_data', "Can see signers' personal data (with two-factor)"), ('view_dashboard', 'Can see campaign dashboards and export counts'), ('invalidate_by_criteria', 'Can invalidate signatures by criteria'), ('import_paper', 'Can import paper signatures'), ('build_delivery_document', 'Can build the petition delivery document')],
                        'managed': False,
                        'default_permissions': (),
                    },
                ),
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                        ('user_label', models.CharField(blank=True, max_length=254, verbose_name='who (as recorded)')),
                        ('ip_address', models.GenericIPAddressField(blank=True, null=True, verbose_name='from')),
                        ('action', models.CharField(choices=[('added', 'Added'), ('changed', 'Changed'), ('deleted', 'Deleted'), ('viewed', 'Viewed personal data'), ('exported', 'Exported'), ('invalidated', 'Invalidated'), ('restored', 'Restored'), ('approved', 'Approved'), ('imported', 'Imported'), ('other', 'Other')], max_length=12, verbose_name='action')),
                        ('object_type', models.CharField(blank=True, db_index=True, max_length=100, verbose_name='object type')),
                        ('object_id', models.CharField(blank=True, max_length=64, verbose_name='object id')),
                        ('object_repr', models.CharField(blank=True, max_length=200, verbose_name='object')),
                        ('detail', models.TextField(blank=True, verbose_name='what')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='who')),
                    ],
                    options={
                        'db_table': 'organisers_auditentry',
                        'verbose_name': 'audit entry',
                        'verbose_name_plural': 'audit log',
                        'ordering': ['-at', '-pk'],
                        'default_permissions': ('view',),
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, migrations.RunPython.noop),
        migrations.AlterModelTable(name='auditentry', table=None),
    ]
