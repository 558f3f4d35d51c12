"""The organisation tree pages: an admin adds, edits, reorders and deletes units beneath its own;
bad input comes back as the form again with a Chinese message, other branches are 404, its own unit 403."""
import re

from gridapp.extensions import db
from gridapp.org import service as org
from gridapp.org.models import OrgUnit

from .. import factories
from .conftest import assign, unit


def login(client, user):
    assert client.login(user.phone).status_code == 303


def test_the_tree_page_nests_the_units_with_plain_links_and_forms(client, tree, community_admin):
    login(client, community_admin)
    page = client.get("/admin/org").get_data(as_text=True)
    assert re.search(r'id="unit-%d".*屯坪社区.*<ul class="org-tree">.*id="unit-%d".*迪祥佳苑B区' % (
        tree.community.id, tree.grid.id), page, re.S)
    assert f'href="/admin/org/{tree.grid.id}/edit"' in page and f'href="/admin/org/{tree.community.id}/new"' in page
    assert f'href="/admin/org/{tree.community.id}/edit"' not in page  # its own unit: shown, not editable
    assert "三坪农场" not in page  # above its branch


def test_adding_a_grid_through_the_form(client, tree, community_admin):
    login(client, community_admin)
    url = f"/admin/org/{tree.community.id}/new"
    response = client.submit(url, {"level_name": "网格", "name": "迪祥佳苑A区", "code": "dxa", "is_grid": "y"})
    assert response.status_code == 303 and response.location.endswith("/admin/org")
    grid = unit("DXA")
    assert (grid.name, grid.parent_id, grid.is_grid) == ("迪祥佳苑A区", tree.community.id, True)
    assert "迪祥佳苑A区" in client.get("/admin/org").get_data(as_text=True)


def test_a_duplicate_code_or_blank_name_comes_back_with_a_message(client, tree, community_admin):
    login(client, community_admin)
    url = f"/admin/org/{tree.community.id}/new"
    taken = client.submit(url, {"level_name": "网格", "name": "重复网格", "code": "DXB", "is_grid": "y"})
    assert taken.status_code == 422 and "代码“DXB”已被其他单位使用。" in taken.get_data(as_text=True)
    blank = client.submit(url, {"level_name": "网格", "name": "  ", "code": "DXZ"})
    assert blank.status_code == 422 and "请填写单位名称。" in blank.get_data(as_text=True)
    bad = client.submit(url, {"level_name": "网格", "name": "新网格", "code": "D-1"})
    assert bad.status_code == 422 and "代码须为2–8位大写拉丁字母或数字" in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(OrgUnit)) == 4


def test_a_unit_beneath_a_grid_is_refused(client, tree, community_admin):
    login(client, community_admin)
    response = client.submit(f"/admin/org/{tree.grid.id}/new", {"level_name": "楼栋", "name": "1栋", "code": "B1"},
                             page="/admin/org")
    assert response.status_code == 422 and "网格是最末一级" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(OrgUnit).where(OrgUnit.code == "B1")).first() is None


def test_editing_a_grid_changes_what_it_prints(client, tree, community_admin):
    login(client, community_admin)
    url = f"/admin/org/{tree.grid.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'value="迪祥佳苑B区南门广场"' in form and "积分可在本社区其他网格使用" not in form  # a community's setting
    response = client.submit(url, {"name": "迪祥佳苑二区", "organiser": "二区党支部", "counter_place": "北门",
                                   "counter_hours": "09:00—12:00", "contact": "0994-5820000"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (tree.grid.name, tree.grid.organiser, tree.grid.counter_place) == ("迪祥佳苑二区", "二区党支部", "北门")
    blank = client.submit(url, {"name": ""})
    assert blank.status_code == 422 and "请填写单位名称。" in blank.get_data(as_text=True)


def test_the_community_setting_is_edited_by_the_level_above(client, tree, division_admin):
    login(client, division_admin)
    url = f"/admin/org/{tree.community.id}/edit"
    assert "积分可在本社区其他网格使用" in client.get(url).get_data(as_text=True)
    assert client.submit(url, {"name": "屯坪社区", "organiser": "屯坪社区党总支", "points_anywhere": "y"}).status_code == 303
    db.session.expire_all()
    assert tree.community.points_anywhere is True


def test_another_branch_is_404_and_the_admins_own_unit_403(client, tree, community_admin, division_admin):
    other = org.add_unit(division_admin, tree.farm, level_name="社区", name="五一社区", code="WYSQ", is_grid=False)
    db.session.commit()
    login(client, community_admin)
    for url in (f"/admin/org/{other.id}/edit", f"/admin/org/{other.id}/new", f"/admin/org/{other.id}/delete",
                f"/admin/org/{tree.farm.id}/edit", "/admin/org/99999/edit"):
        assert client.get(url).status_code == 404, url
    posted = client.submit(f"/admin/org/{other.id}/edit", {"name": "被改名"}, page="/admin/org")
    assert posted.status_code == 404
    own = client.get(f"/admin/org/{tree.community.id}/edit")
    assert own.status_code == 403 and "不能修改自己所在的单位" in own.get_data(as_text=True)
    db.session.expire_all()
    assert other.name == "五一社区"


def test_staff_may_not_open_the_tree(client, tree):
    staff = assign(factories.make_user(role="staff"), tree.community)
    login(client, staff)
    assert client.get("/admin/org").status_code == 403
    assert client.get(f"/admin/org/{tree.grid.id}/edit").status_code == 403


def test_reordering_moves_a_grid_up(client, tree, community_admin):
    org.add_unit(community_admin, tree.community, level_name="网格", name="迪祥佳苑A区", code="DXA", is_grid=True)
    db.session.commit()
    login(client, community_admin)
    added = unit("DXA")
    response = client.submit(f"/admin/org/{added.id}/move", {"step": "up"}, page="/admin/org")
    assert response.status_code == 303
    db.session.expire_all()
    assert [child.code for child in tree.community.children] == ["DXA", "DXB"]


def test_delete_asks_first_then_deletes_an_empty_grid(client, tree, community_admin):
    org.add_unit(community_admin, tree.community, level_name="网格", name="迪祥佳苑A区", code="DXA", is_grid=True)
    db.session.commit()
    login(client, community_admin)
    url = f"/admin/org/{unit('DXA').id}/delete"
    confirm = client.get(url).get_data(as_text=True)
    assert "确认删除“迪祥佳苑A区”？" in confirm and unit("DXA") is not None  # asking deletes nothing
    assert client.submit(url).status_code == 303
    assert db.session.scalars(db.select(OrgUnit).where(OrgUnit.code == "DXA")).first() is None


def test_deleting_a_grid_with_staff_or_data_is_refused_with_a_message_not_a_500(client, tree, community_admin,
                                                                             monkeypatch):
    assign(factories.make_user(role="staff"), tree.grid)
    login(client, community_admin)
    url = f"/admin/org/{tree.grid.id}/delete"
    refused = client.submit(url)
    assert refused.status_code == 422 and "还有分配的工作人员" in refused.get_data(as_text=True)
    monkeypatch.setattr(org, "_staff_count", lambda unit: 0)  # as if only the foreign keys stood in the way
    refused = client.submit(url)
    assert refused.status_code == 422 and "已有业务数据" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert unit("DXB").name == "迪祥佳苑B区"
