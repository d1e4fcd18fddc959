package runbook

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// DecodeData turns an event's journaled data back into its typed form, for readers of the journal
// (report, replay, shadow, resume). Unknown types keep their raw JSON.
func DecodeData(typ EventType, raw json.RawMessage) (any, error) {
	var v any
	switch typ {
	case EvRunStart:
		v = &RunStartData{}
	case EvStepStart:
		v = &StepStartData{}
	case EvCmd:
		v = &CmdData{}
	case EvOutput:
		v = &OutputData{}
	case EvAction, EvCheck:
		v = &CheckData{}
	case EvGate:
		v = &GateData{}
	case EvQuestion:
		v = &QuestionData{}
	case EvDecision:
		v = &DecisionData{}
	case EvRollback:
		v = &RollbackData{}
	case EvWave:
		v = &WaveData{}
	case EvWaveItem:
		v = &WaveItemData{}
	case EvStepEnd:
		v = &StepEndData{}
	case EvCheckpoint:
		v = &CheckpointData{}
	case EvRunEnd:
		v = &RunEndData{}
	case EvMigrate:
		v = &MigrateData{}
	case EvProgress:
		v = &ProgressData{}
	case EvPing:
		v = &PingData{}
	case EvWatch:
		v = &WatchData{}
	case EvPause:
		v = &PauseData{}
	case EvWindow:
		v = &WindowEventData{}
	case EvResume:
		v = &ResumeData{}
	case EvApprovalRq:
		v = &ApprovalRequest{}
	case EvApproval:
		v = &ApprovalData{}
	case EvNote:
		v = &NoteData{}
	default:
		return raw, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	return derefData(v), nil
}

// derefData returns the value the engine emits for a decoded pointer.
func derefData(v any) any { return reflect.ValueOf(v).Elem().Interface() }
