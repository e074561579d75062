"""Campaign leads, moved down from organisers: who leads a campaign is part of
what a campaign is. The table is renamed; no row changes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APP = "campaigns"
MOVED = ['campaignlead']


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
        ('campaigns', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CampaignLead',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='leads', to='campaigns.campaign')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='led_campaigns', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'organisers_campaignlead',
                        'verbose_name': 'campaign lead',
                        'verbose_name_plural': 'campaign leads',
                        'constraints': [models.UniqueConstraint(fields=('user', 'campaign'), name='one_lead_row_per_campaign')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, migrations.RunPython.noop),
        migrations.AlterModelTable(name='campaignlead', table=None),
    ]
