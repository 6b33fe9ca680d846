"""Training use cases. Each takes plain values and the acting user, owns its transaction, raises kms.errors.

Split by topic: catalog (authoring), learning (lessons, quizzes, completion, review flags), progress (paths,
assignments, my onboarding), team (the managers' team view and its CSV), shadowing (hosts, sessions, planner),
calendar (.ics and feeds), content (content/training import and export), demo (`kms demo` data).
"""
from kms.training.services.calendar import active_feed, create_feed, feed_ics, revoke_feed, session_ics
from kms.training.services.catalog import (
                                           add_lesson,
                                           add_question,
                                           create_module,
                                           delete_lesson,
                                           delete_question,
                                           get_lesson,
                                           get_module,
                                           get_module_by_slug,
                                           get_question,
                                           list_modules,
                                           modules_tagged,
                                           move_lesson,
                                           reorder_lessons,
                                           set_module_status,
                                           update_lesson,
                                           update_module,
                                           update_question,
)
from kms.training.services.content import export_content, import_content
from kms.training.services.demo import seed_demo
from kms.training.services.learning import (
                                           attempt_result,
                                           attempts_for,
                                           complete_lesson,
                                           lesson_changes,
                                           module_progress,
                                           quiz_questions,
                                           review_flags,
                                           review_lesson,
                                           submit_quiz,
)
from kms.training.services.progress import (
                                           assign_module,
                                           assign_path,
                                           due_dates,
                                           get_path,
                                           list_paths,
                                           managed_people,
                                           my_onboarding,
                                           onboarding_in_progress,
                                           remove_assignment,
)
from kms.training.services.shadowing import (
                                           PlannedSession,
                                           confirm_plan,
                                           get_session,
                                           list_hosts,
                                           propose_plan,
                                           save_session_notes,
                                           schedule_session,
                                           sessions_for,
                                           set_availability,
                                           set_host,
                                           set_session_status,
                                           team_sessions,
                                           update_session,
)
from kms.training.services.team import team_csv, team_view

__all__ = [
    "active_feed", "add_lesson", "add_question", "assign_module", "assign_path", "attempt_result", "attempts_for",
    "complete_lesson", "confirm_plan", "create_feed", "create_module", "delete_lesson", "delete_question",
    "due_dates", "export_content", "feed_ics", "get_lesson", "get_module", "get_module_by_slug", "get_path",
    "get_question", "get_session", "import_content", "lesson_changes", "list_hosts", "list_modules", "list_paths",
    "managed_people", "module_progress", "modules_tagged", "move_lesson", "my_onboarding", "onboarding_in_progress",
    "PlannedSession",
    "propose_plan",
    "quiz_questions", "remove_assignment", "reorder_lessons", "review_flags", "review_lesson", "revoke_feed",
    "save_session_notes", "schedule_session", "seed_demo", "session_ics", "sessions_for", "set_availability",
    "set_host", "set_module_status", "set_session_status", "submit_quiz", "team_csv", "team_sessions",
    "team_view", "update_lesson", "update_module", "update_question",
]
