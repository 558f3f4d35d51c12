"""The menu bar is drawn once per role, page, language and URL root and kept (web.main_menu): every view
must still get the menu of its own role, page, language and root."""
import re

NAV = re.compile(r'<nav class="nav[^"]*" aria-label="[^"]*">(.*?)</nav>', re.S)


def menu(response) -> str:
    found = NAV.search(response.get_data(as_text=True))
    assert found, "no menu bar on the page"
    return found.group(1)


def current(nav: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)


def test_each_page_marks_itself_in_the_menu_though_the_menu_is_kept(client, login_as):
    login_as("volunteer")
    home, points = menu(client.get("/me")), menu(client.get("/me/points"))
    assert current(home) == ["/me"]
    assert current(points) == ["/me/points"]
    assert current(menu(client.get("/me"))) == ["/me"]  # the kept menu of /me, not the last one drawn


def test_the_menu_speaks_the_pages_language(client, login_as):
    login_as("volunteer")
    assert "我的积分" in menu(client.get("/me"))
    client.get("/lang/en")
    english = menu(client.get("/me"))
    assert "My points" in english and "我的积分" not in english
    client.get("/lang/zh_CN")
    assert "我的积分" in menu(client.get("/me"))


def test_a_staff_member_never_gets_an_admins_menu(client, login_as):
    login_as("admin")
    assert "账号管理" in menu(client.get("/account"))
    client.logout()
    login_as("staff")
    staff_menu = menu(client.get("/account"))
    assert "账号管理" not in staff_menu and "组织架构" not in staff_menu
    assert "兑换台" in staff_menu


def test_the_menu_links_follow_the_url_root(client, login_as):
    login_as("volunteer")
    assert 'href="/me/points"' in menu(client.get("/me"))
    rooted = menu(client.get("/me", environ_overrides={"SCRIPT_NAME": "/grid"}))
    assert 'href="/grid/me/points"' in rooted and 'href="/me/points"' not in rooted
    assert 'href="/me/points"' in menu(client.get("/me"))
