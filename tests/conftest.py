"""Ordering shared by every test directory: lab tests share one running lab; scenario self-tests build their
own from scratch, so they run last."""


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        if item.get_closest_marker("scenario_cycle"):
            return 2  # `labgrader test` takes a scenario's lab down and up again: after everything else
        if item.get_closest_marker("lab_teardown"):
            return 1  # takes the shared lab down: after every test that uses it
        return 0
    items.sort(key=rank)


pytest_plugins = ["pytester"]  # grading semantics are proven on throwaway check files (tests/unit)
