package qido

import (
	"strings"
	"testing"
)

func TestParseUIDs(t *testing.T) {
	a, b, c := "1.2.840.113619.2.1", "1.2.3.4", "2.25.1"
	runParseCases(t, []parseCase{
		{name: "single_uid", query: "StudyInstanceUID=" + a, want: []Condition{cond(t, "StudyInstanceUID", List, a)}},
		{name: "uids_joined_by_backslash", query: "StudyInstanceUID=" + a + "%5C" + b + "%5C" + c,
			want: []Condition{cond(t, "StudyInstanceUID", List, a, b, c)}},
		{name: "uids_joined_by_commas", query: "StudyInstanceUID=" + a + "%2C" + b + "," + c,
			want: []Condition{cond(t, "StudyInstanceUID", List, a, b, c)}},
		{name: "uids_mixed_separators_and_spaces", query: "0020000D=" + a + ",+" + b + "%5C" + c,
			want: []Condition{cond(t, "StudyInstanceUID", List, a, b, c)}},
		{name: "duplicate_uids_once", query: "StudyInstanceUID=" + a + "," + a,
			want: []Condition{cond(t, "StudyInstanceUID", List, a)}},
		{name: "repeated_key_gives_two_conditions", query: "SeriesInstanceUID=" + a + "&SeriesInstanceUID=" + b, level: Series,
			want: []Condition{cond(t, "SeriesInstanceUID", List, a), cond(t, "SeriesInstanceUID", List, b)}},
		{name: "star_is_universal", query: "StudyInstanceUID=*"},
		{name: "empty_is_universal", query: "StudyInstanceUID="},
		{name: "bad_uid", query: "StudyInstanceUID=1.2.abc", err: `StudyInstanceUID: "1.2.abc" is not a valid UID`},
		{name: "bad_uid_in_a_list", query: "StudyInstanceUID=" + a + ",1.02", err: `"1.02" is not a valid UID`},
		{name: "empty_uid_in_a_list", query: "StudyInstanceUID=" + a + ",", err: `"" is not a valid UID`},
		{name: "uid_wildcard", query: "StudyInstanceUID=1.2.*", err: "not a valid UID"},
		{name: "uid_too_long", query: "SOPInstanceUID=1." + strings.Repeat("1", 64), level: Instance, err: "not a valid UID"},
	})
}

func TestParseDates(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "exact_date", query: "StudyDate=20240229", want: []Condition{cond(t, "StudyDate", Exact, "20240229")}},
		{name: "closed_range", query: "StudyDate=20200101-20241231", want: []Condition{between(t, "StudyDate", "20200101", "20241231")}},
		{name: "one_day_range", query: "StudyDate=20200101-20200101", want: []Condition{between(t, "StudyDate", "20200101", "20200101")}},
		{name: "open_upper_end", query: "PatientBirthDate=19500101-", want: []Condition{between(t, "PatientBirthDate", "19500101", "")}},
		{name: "open_lower_end", query: "00080021=-20001231", level: Series, want: []Condition{between(t, "SeriesDate", "", "20001231")}},
		{name: "star_is_universal", query: "StudyDate=*"},
		{name: "not_a_leap_year", query: "StudyDate=20230229", err: `StudyDate: "20230229" is not a valid date (YYYYMMDD)`},
		{name: "month_13", query: "StudyDate=20201301", err: "not a valid date"},
		{name: "day_zero", query: "StudyDate=20200100", err: "not a valid date"},
		{name: "iso_format", query: "StudyDate=2020-01-01", err: "not a valid date"},
		{name: "short_date", query: "StudyDate=202001", err: "not a valid date"},
		{name: "wildcard_date", query: "StudyDate=2020*", err: "not a valid date"},
		{name: "reversed_range", query: "StudyDate=20241231-20200101", err: `StudyDate: the range "20241231-20200101" ends before it starts`},
		{name: "dash_alone", query: "StudyDate=-", err: "a range needs a lower or an upper end"},
		{name: "bad_end_of_range", query: "StudyDate=20200101-20201332", err: `"20201332" in the range`},
		{name: "two_dashes", query: "StudyDate=20200101-20200102-20200103", err: "not a valid date"},
	})
}

func TestParseTimes(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "hour", query: "StudyTime=10", want: []Condition{cond(t, "StudyTime", Exact, "10")}},
		{name: "hour_minute", query: "StudyTime=1030", want: []Condition{cond(t, "StudyTime", Exact, "1030")}},
		{name: "seconds", query: "StudyTime=235959", want: []Condition{cond(t, "StudyTime", Exact, "235959")}},
		{name: "one_fraction_digit", query: "StudyTime=235959.9", want: []Condition{cond(t, "StudyTime", Exact, "235959.9")}},
		{name: "six_fraction_digits", query: "StudyTime=000000.000001", want: []Condition{cond(t, "StudyTime", Exact, "000000.000001")}},
		{name: "range_as_sent", query: "StudyTime=08-1730", want: []Condition{between(t, "StudyTime", "08", "1730")}},
		{name: "range_within_the_upper_hour", query: "SeriesTime=1030-10", level: Series, want: []Condition{between(t, "SeriesTime", "1030", "10")}},
		{name: "open_range", query: "PerformedProcedureStepStartTime=-120000", level: Series,
			want: []Condition{between(t, "PerformedProcedureStepStartTime", "", "120000")}},
		{name: "hour_24", query: "StudyTime=24", err: `StudyTime: "24" is not a valid time`},
		{name: "minute_60", query: "StudyTime=1060", err: "not a valid time"},
		{name: "second_60", query: "StudyTime=101060", err: "not a valid time"},
		{name: "odd_length", query: "StudyTime=103", err: "not a valid time"},
		{name: "fraction_without_seconds", query: "StudyTime=1030.5", err: "not a valid time"},
		{name: "seven_fraction_digits", query: "StudyTime=103000.1234567", err: "not a valid time"},
		{name: "empty_fraction", query: "StudyTime=103000.", err: "not a valid time"},
		{name: "colons", query: "StudyTime=10:30:00", err: "not a valid time"},
		{name: "reversed_range", query: "StudyTime=1100-1030", err: "ends before it starts"},
	})
}

func TestParseIntegers(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "series_number", query: "SeriesNumber=3", level: Series, want: []Condition{cond(t, "SeriesNumber", Exact, "3")}},
		{name: "canonical_form", query: "InstanceNumber=%2B007", level: Instance, want: []Condition{cond(t, "InstanceNumber", Exact, "7")}},
		{name: "negative", query: "InstanceNumber=-2", level: Instance, want: []Condition{cond(t, "InstanceNumber", Exact, "-2")}},
		{name: "spaces_ignored", query: "SeriesNumber=+12+", level: Series, want: []Condition{cond(t, "SeriesNumber", Exact, "12")}},
		{name: "not_a_number", query: "SeriesNumber=three", level: Series, err: `SeriesNumber: "three" is not an integer`},
		{name: "wildcard", query: "SeriesNumber=1*", level: Series, err: "not an integer"},
		{name: "beyond_32_bits", query: "SeriesNumber=4294967297", level: Series, want: []Condition{cond(t, "SeriesNumber", Exact, "4294967297")}},
		{name: "beyond_64_bits", query: "SeriesNumber=9223372036854775808", level: Series, err: "not an integer"},
		{name: "decimal", query: "SeriesNumber=1.5", level: Series, err: "not an integer"},
	})
}

func TestParseCodes(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "one_modality", query: "ModalitiesInStudy=CT", want: []Condition{cond(t, "ModalitiesInStudy", List, "CT")}},
		{name: "modalities_by_backslash_and_comma", query: "ModalitiesInStudy=CT%5CMR,+PT+",
			want: []Condition{cond(t, "ModalitiesInStudy", List, "CT", "MR", "PT")}},
		{name: "duplicate_modalities_once", query: "ModalitiesInStudy=CT,CT", want: []Condition{cond(t, "ModalitiesInStudy", List, "CT")}},
		{name: "lower_case_modality_is_upper_cased", query: "ModalitiesInStudy=ct%5Cmr", want: []Condition{cond(t, "ModalitiesInStudy", List, "CT", "MR")}},
		{name: "empty_modality_in_list", query: "ModalitiesInStudy=CT,", err: `"" is not a code string`},
		{name: "wildcard_modality_in_list", query: "ModalitiesInStudy=C*", err: "not a code string"},
		{name: "modality_exact", query: "Modality=MR", level: Series, want: []Condition{cond(t, "Modality", Exact, "MR")}},
		{name: "modality_wildcard", query: "Modality=M%3F", level: Series, want: []Condition{cond(t, "Modality", Wildcard, "M?")}},
		{name: "modality_list_refused", query: "Modality=CT%5CMR", level: Series, err: "matching a list of values is not supported for Modality"},
		{name: "patient_sex", query: "PatientSex=F", want: []Condition{cond(t, "PatientSex", Exact, "F")}},
	})
}

func TestParseText(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "patient_name_exact_with_caret", query: "PatientName=DOE%5EJOHN", want: []Condition{cond(t, "PatientName", Exact, "DOE^JOHN")}},
		{name: "patient_name_wildcard", query: "PatientName=*doe*", want: []Condition{cond(t, "PatientName", Wildcard, "*doe*")}},
		{name: "encoded_star_is_a_wildcard", query: "PatientName=DOE%2A", want: []Condition{cond(t, "PatientName", Wildcard, "DOE*")}},
		{name: "question_mark_is_a_wildcard", query: "PatientID=AB%3F1", want: []Condition{cond(t, "PatientID", Wildcard, "AB?1")}},
		{name: "comma_is_part_of_a_name", query: "ReferringPhysicianName=Doe%2C+John", want: []Condition{cond(t, "ReferringPhysicianName", Exact, "Doe, John")}},
		{name: "spaces_around_are_dropped", query: "AccessionNumber=+A1+", want: []Condition{cond(t, "AccessionNumber", Exact, "A1")}},
		{name: "unicode_name", query: "PatientName=%E5%B1%B1%E7%94%B0", want: []Condition{cond(t, "PatientName", Exact, "山田")}},
		{name: "star_only_is_universal", query: "PatientName=%2A"},
		{name: "stars_only_are_universal", query: "PatientName=***"},
		{name: "spaces_only_are_universal", query: "StudyDescription=+++"},
		{name: "sequence_key_by_path", query: "RequestAttributesSequence.ScheduledProcedureStepID=SPS1", level: Series,
			want: []Condition{cond(t, "ScheduledProcedureStepID", Exact, "SPS1")}},
		{name: "sequence_key_by_tags", query: "00400275.00401001=RP*", level: Instance,
			want: []Condition{cond(t, "RequestedProcedureID", Wildcard, "RP*")}},
		{name: "backslash_in_a_name", query: "PatientName=DOE%5CSMITH", err: `PatientName: "DOE\\SMITH" has a '\'`},
		{name: "backslash_in_an_id", query: "00100020=1%5C2", err: `00100020: "1\\2" has a '\'; matching a list of values is not supported for PatientID`},
		{name: "control_character", query: "PatientID=A%00B", err: "control character"},
		{name: "newline", query: "StudyDescription=A%0AB", err: "control character"},
		{name: "invalid_utf8", query: "PatientName=%FF", err: "not valid UTF-8"},
		{name: "value_too_long", query: "StudyDescription=" + strings.Repeat("a", 1025), err: "StudyDescription: a value of 1025 bytes is longer than the 1024 allowed"},
		{name: "longest_value", query: "StudyDescription=" + strings.Repeat("a", 1024), want: []Condition{cond(t, "StudyDescription", Exact, strings.Repeat("a", 1024))}},
	})
}
