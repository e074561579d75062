from django.contrib import admin

from campaigns.models import Campaign, Question


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["__str__", "slug", "status", "opens_at", "closes_at", "signing_paused"]
    list_filter = ["status", "signing_paused"]
    search_fields = ["slug", "title_km", "title_en"]
    inlines = [QuestionInline]
