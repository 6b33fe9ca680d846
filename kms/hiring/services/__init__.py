"""Hiring use cases. Each function takes plain values and the acting user, raises kms.errors exceptions, owns
its transaction and never touches Flask. Split by topic; import from here."""
from kms.hiring.services.access import (
                                        Access,
                                        access_to,
                                        is_interviewer,
                                        is_lead,
                                        list_audit,
                                        require_hiring_access,
)
from kms.hiring.services.candidates import (
                                        BoardRow,
                                        CandidatePage,
                                        MyInterview,
                                        board,
                                        candidate_page,
                                        create_candidate,
                                        create_opening,
                                        get_opening,
                                        interviewer_choices,
                                        list_openings,
                                        my_interviews,
                                        record_decision,
                                        remove_assignment,
                                        schedule_interview,
                                        set_stage,
                                        update_candidate,
)
from kms.hiring.services.debrief import (
                                        Aggregate,
                                        ComparisonRow,
                                        Debrief,
                                        TraitStat,
                                        aggregate,
                                        compare_opening,
                                        debrief,
)
from kms.hiring.services.demo import seed_demo
from kms.hiring.services.onboard import (
                                        HireCheck,
                                        HireResult,
                                        NewHireSummary,
                                        hire_candidate,
                                        hire_check,
                                        hired_users_with_summaries,
                                        new_hire_summary,
                                        onboarding_paths,
                                        path_for_opening,
                                        suggested_modules,
                                        suggested_path,
)
from kms.hiring.services.privacy import delete_candidate, export_candidate, purge_rejected
from kms.hiring.services.rubric import (
                                        current_rubric,
                                        export_content,
                                        import_content,
                                        list_versions,
                                        load_rubric_from,
                                        rubric_version,
                                        update_trait,
)
from kms.hiring.services.scorecards import (
                                        AlreadySubmitted,
                                        ScorecardContext,
                                        amend_scorecard,
                                        open_scorecard,
                                        save_draft,
                                        submit_scorecard,
)

__all__ = [
    "Access", "Aggregate", "AlreadySubmitted", "BoardRow", "CandidatePage", "ComparisonRow", "Debrief",
    "HireCheck", "HireResult", "MyInterview", "NewHireSummary", "ScorecardContext", "TraitStat", "access_to",
    "aggregate", "amend_scorecard", "board", "candidate_page", "compare_opening", "create_candidate",
    "create_opening", "current_rubric", "debrief", "delete_candidate", "export_candidate", "export_content",
    "get_opening", "hire_candidate", "hire_check", "hired_users_with_summaries", "import_content",
    "interviewer_choices", "is_interviewer", "is_lead", "list_audit", "list_openings", "list_versions",
    "load_rubric_from", "my_interviews", "new_hire_summary", "onboarding_paths", "open_scorecard",
    "path_for_opening", "purge_rejected", "record_decision", "remove_assignment", "require_hiring_access",
    "rubric_version", "save_draft", "schedule_interview", "seed_demo", "set_stage", "submit_scorecard",
    "suggested_modules", "suggested_path", "update_candidate", "update_trait",
]
