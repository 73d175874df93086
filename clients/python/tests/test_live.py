"""Both clients against a live `cascade serve` (skipped unless CASCADE_URL is set): the read
key for pages, the admin key for writes, and the server's errors as typed exceptions.

CASCADE_URL=http://127.0.0.1:8080 CASCADE_READ_KEY=... CASCADE_ADMIN_KEY=... \
    python3 -m unittest discover -s clients/python/tests
The Swift test suite runs it against a simulated world (PythonClientTests).
"""

import asyncio
import os
import unittest

from cascade_client import AsyncClient, CascadeError, Client, FeedbackEvent, GeoPoint, Item, User

URL = os.environ.get("CASCADE_URL")
USER = os.environ.get("CASCADE_TEST_USER", "u3")
# Generous: the Swift suite runs this beside every other test on a loaded machine.
TIMEOUT = float(os.environ.get("CASCADE_TEST_TIMEOUT", "120"))


@unittest.skipUnless(URL, "CASCADE_URL is not set: no live server to test against")
class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reader = Client(URL, os.environ.get("CASCADE_READ_KEY"), timeout=TIMEOUT)
        cls.admin = Client(URL, os.environ.get("CASCADE_ADMIN_KEY"), timeout=TIMEOUT)

    def test_health_and_a_page(self):
        h = self.reader.health()
        self.assertEqual(h.status, "ok")
        self.assertGreater(h.items, 0)
        page = self.reader.recommend(USER, n=5, debug=True)
        self.assertEqual(page.user, USER)
        self.assertEqual(len(page.items), 5)
        self.assertTrue(all(i.channels for i in page.items))
        self.assertIsNotNone(page.debug)
        self.assertTrue(page.debug.stages and all(s.ms >= 0 for s in page.debug.stages))
        self.assertIsNotNone(page.items[0].trace)
        similar = self.reader.similar_items(page.items[0].item, n=3)
        self.assertEqual(similar.item, page.items[0].item)
        self.assertLessEqual(len(similar.items), 3)

    def test_feedback_changes_nothing_when_refused(self):
        item = self.reader.recommend(USER, n=1).items[0].item
        ok = self.admin.feedback([FeedbackEvent(USER, item, "impression"), FeedbackEvent(USER, item, "click")])
        self.assertEqual(ok.accepted, 2)
        with self.assertRaises(CascadeError) as e:
            self.admin.feedback([FeedbackEvent(USER, item, "click"), FeedbackEvent(USER, item, "no-such-type")])
        self.assertEqual(e.exception.status, 422)
        self.assertTrue(e.exception.code and "no-such-type" in e.exception.message, e.exception.message)

    def test_feedback_joins_its_page(self):
        page = self.reader.recommend(USER, n=3)
        self.assertTrue(page.request)
        item = page.items[1].item
        ok = self.admin.feedback([FeedbackEvent(USER, item, "impression", request=page.request, position=1),
                                  FeedbackEvent(USER, item, "click", request=page.request, position=1)])
        self.assertEqual(ok.accepted, 2)
        for bad, word in ((FeedbackEvent(USER, item, "click", request="no-such-page"), "unknown request"),
                          (FeedbackEvent(USER, item, "click", request=page.request, position=len(page.items)), "outside its page")):
            with self.assertRaises(CascadeError) as e:
                self.admin.feedback([bad])
            self.assertEqual(e.exception.status, 422)
            self.assertIn(word, e.exception.message)

    def test_users_round_trip(self):
        u = User("py-client-user", categorical={"city": "c1"}, numeric={"age": 31.0}, tags=["a", "b"],
                 location=GeoPoint(48.85, 2.35))
        back = self.admin.put_user(u)
        self.assertEqual(back.id, u.id)
        got = self.admin.get_user(u.id)
        self.assertEqual((got.categorical, got.numeric, sorted(got.tags)), (u.categorical, u.numeric, ["a", "b"]))
        self.assertAlmostEqual(got.location.latitude, 48.85, places=4)
        self.assertTrue(self.admin.delete_user(u.id).deleted)
        with self.assertRaises(CascadeError) as e:
            self.admin.get_user(u.id)
        self.assertEqual(e.exception.status, 404)

    def test_items_hide_and_delete(self):
        it = Item("py-client-item", categories=["c1", "c1/x"], tags=["t"], author="someone", publishedAt=1_700_000_000.0)
        self.assertEqual(self.admin.put_item(it).id, it.id)
        got = self.admin.get_item(it.id)
        self.assertEqual((got.categories, got.author, got.hidden), (["c1", "c1/x"], "someone", False))
        self.assertTrue(self.admin.hide_item(it.id).hidden)
        self.assertFalse(self.admin.unhide_item(it.id).hidden)
        self.assertTrue(self.admin.delete_item(it.id).deleted)
        with self.assertRaises(CascadeError) as e:
            self.admin.hide_item("py-client-no-such-item")
        self.assertEqual((e.exception.status, e.exception.code), (404, "not_found"))

    def test_experiments_are_checked_before_they_apply(self):
        before = self.admin.get_experiments()
        with self.assertRaises(CascadeError) as e:
            self.admin.put_experiments({"layers": [{"name": "x", "experiments": [{"name": "e", "arms": [
                {"name": "a", "buckets": "0-49", "overrides": {"quota.nosuch": "3"}}]}]}]})
        self.assertIn(e.exception.status, (400, 422))
        self.assertEqual(self.admin.get_experiments(), before)

    def test_keys_are_enforced(self):
        with self.assertRaises(CascadeError) as e:
            Client(URL, "wrong-key", timeout=TIMEOUT).recommend(USER)
        self.assertIn(e.exception.status, (401, 403))
        with self.assertRaises(CascadeError) as e:
            self.reader.put_item(Item("py-client-denied"))
        self.assertEqual(e.exception.status, 403)
        self.assertIn("cascade_", self.admin.metrics())

    def test_async_client(self):
        async def run():
            c = AsyncClient(URL, os.environ.get("CASCADE_READ_KEY"), timeout=TIMEOUT)
            pages = await asyncio.gather(*(c.recommend("u%d" % k, n=3) for k in range(4)))
            return [len(p.items) for p in pages]
        self.assertEqual(asyncio.run(run()), [3, 3, 3, 3])

    def test_unreachable_server(self):
        with self.assertRaises(CascadeError) as e:
            Client("http://127.0.0.1:9", timeout=2).health()
        self.assertEqual((e.exception.status, e.exception.code), (0, "connection"))


if __name__ == "__main__":
    unittest.main()
