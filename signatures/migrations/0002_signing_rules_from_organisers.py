"""Signing rules (site-wide pause and rate limits, e-mail domain and IP rules),
moved down from organisers to signing, the app that applies them. The tables
are renamed; no row changes."""

import django.db.models.deletion
import signatures.models
from django.db import migrations, models

APP = "signatures"
MOVED = ['signingsettings', 'domainrule', 'iprule']


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
        ('campaigns', '0002_campaign_leads_from_organisers'),
        ('signatures', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SigningSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('signing_paused', models.BooleanField(default=False, verbose_name='pause signing on every campaign')),
                        ('paused_message_km', models.CharField(blank=True, max_length=300, verbose_name='pause message (Khmer)')),
                        ('paused_message_en', models.CharField(blank=True, max_length=300, verbose_name='pause message (English)')),
                        ('rate_burst', models.CharField(blank=True, help_text='Signatures per IP address, e.g. "10/m". Empty: the server default.', max_length=20, verbose_name='short burst limit per address')),
                        ('rate_sustained', models.CharField(blank=True, help_text='e.g. "60/h". Empty: the server default.', max_length=20, verbose_name='sustained limit per address')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'organisers_signingsettings',
                        'verbose_name': 'signing settings',
                        'verbose_name_plural': 'signing settings',
                    },
                ),
                migrations.CreateModel(
                    name='DomainRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('action', models.CharField(choices=[('block', 'Refuse the signature'), ('suspect', 'Hold as suspect'), ('allow', 'Always allow')], max_length=10, verbose_name='action')),
                        ('note', models.CharField(blank=True, max_length=200, verbose_name='note')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('domain', models.CharField(max_length=253, verbose_name='e-mail domain')),
                        ('campaign', models.ForeignKey(blank=True, help_text='Empty: every campaign.', null=True, on_delete=django.db.models.deletion.CASCADE, to='campaigns.campaign', verbose_name='campaign')),
                    ],
                    options={
                        'db_table': 'organisers_domainrule',
                        'verbose_name': 'e-mail domain rule',
                        'verbose_name_plural': 'e-mail domain rules',
                        'ordering': ['domain'],
                    },
                ),
                migrations.CreateModel(
                    name='IpRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('action', models.CharField(choices=[('block', 'Refuse the signature'), ('suspect', 'Hold as suspect'), ('allow', 'Always allow')], max_length=10, verbose_name='action')),
                        ('note', models.CharField(blank=True, max_length=200, verbose_name='note')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('network', models.CharField(max_length=50, validators=[signatures.models.validate_network], verbose_name='IP address or range')),
                        ('campaign', models.ForeignKey(blank=True, help_text='Empty: every campaign.', null=True, on_delete=django.db.models.deletion.CASCADE, to='campaigns.campaign', verbose_name='campaign')),
                    ],
                    options={
                        'db_table': 'organisers_iprule',
                        'verbose_name': 'IP range rule',
                        'verbose_name_plural': 'IP range rules',
                        'ordering': ['network'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, migrations.RunPython.noop),
        migrations.AlterModelTable(name='signingsettings', table=None),
        migrations.AlterModelTable(name='domainrule', table=None),
        migrations.AlterModelTable(name='iprule', table=None),
    ]
