"""The audit log, staff access, campaign leads and signing rules now live in
core, campaigns and signatures (their migrations rename the tables): here they
leave organisers' state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('organisers', '0003_generated_file_options'),
        ('core', '0001_audit_and_access_from_organisers'),
        ('campaigns', '0002_campaign_leads_from_organisers'),
        ('signatures', '0002_signing_rules_from_organisers'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='auditentry',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='campaignlead',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='campaignlead',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='domainrule',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='iprule',
                    name='campaign',
                ),
                migrations.DeleteModel(
                    name='SigningSettings',
                ),
                migrations.DeleteModel(
                    name='OrganiserAccess',
                ),
                migrations.DeleteModel(
                    name='AuditEntry',
                ),
                migrations.DeleteModel(
                    name='CampaignLead',
                ),
                migrations.DeleteModel(
                    name='DomainRule',
                ),
                migrations.DeleteModel(
                    name='IpRule',
                ),
            ],
            database_operations=[],
        ),
    ]
