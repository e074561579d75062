from django.urls import path

from statements import feeds, views

app_name = "statements"
urlpatterns = [
    path("", views.statement_list, name="list"),
    path("feed/rss/", feeds.StatementsRssFeed(), name="feed_rss"),
    path("feed/atom/", feeds.StatementsAtomFeed(), name="feed_atom"),
    path("feed/<slug:campaign>/rss/", feeds.StatementsRssFeed(), name="campaign_feed_rss"),
    path("feed/<slug:campaign>/atom/", feeds.StatementsAtomFeed(), name="campaign_feed_atom"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("<slug:slug>/", views.statement_detail, name="detail"),
    path("<slug:slug>/pdf/", views.statement_pdf, name="pdf"),
]
