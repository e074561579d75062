app_name = "organisers"
urlpatterns: list = []
