def test_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_volunteer_logs_in_and_sees_home(client, login_as):
    user = login_as("volunteer")
    page = client.get("/me").get_data(as_text=True)
    assert user.name in page
