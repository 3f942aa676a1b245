#!/usr/bin/env bash
# The training campaign behind the shipped checkpoints (issue 4), as one resumable queue.
#
#   bash scripts/campaign.sh LANE      LANE = small | finetune_v2 | ferplus | ablations_a | ablations_b | finetune | long | longer | ferplus_long | ablation_bf16 | ablations_c | ablations_d | distill | distill_lean | small_v3 | small_cv_v3 | ckplus_v4 | ferplus_ft | fer2013_votes | fer2013_votes_ft | stn_long | teacher_wide | distill_wide | distill_wide_scratch | ferplus_wide | distill_ferplus | budget_width | distill_ferplus_long | distill_c20 | fer2013_more RUN | weight_decay RUN | fer2013_seeds SEED ... | fer2013_240_seeds SEED ... | regularisers RUN | lr_batch RUN | optimizer RUN | recipes DATASET [RECIPE ...] | recipe_replicas DATASET SEED RECIPE ... | seeds DATASET [SEED ...] | all
#
# Every run writes runs/<name>/ (last.pt resume state each epoch, metrics.jsonl) and a
# candidate checkpoint runs/candidates/<name>.{safetensors,json}; a finished candidate is
# skipped, an interrupted one resumes.  Candidates are promoted to checkpoints/ by scripts/promote.py
# (selection on validation only: accuracy, ties broken by validation loss; test numbers are in
# the card, computed once).
# On 2 CPU cores each run uses one thread, so two lanes can run side by side.
# The 240-epoch network shipped as fer2013 until session 11 (fer2013_240_bf16) is
# checkpoints/fer2013_240 since then; the lanes that start from it or distil it name it so.
# Edit this file only by replacing it (write a copy, then mv): bash reads a running script as
# it goes, so an in-place edit changes what a running lane reads next.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEEP_EMOTION_DATA="${DEEP_EMOTION_DATA:-$(cd .. && pwd)/shared/data}"
DE="${DE:-.venv/bin/deep-emotion}"
COMMON=(--threads 1 --optimizer adamw --lr 0.003 --quiet)
# The 240-epoch FER2013 recipe (lane longer: fer2013_240_bf16, weight decay 1e-4); the shipped
# fer2013 adds --weight-decay 0.05 (fer2013_more wd005).  Used by the lanes from session 11 on.
FER2013_240=(--dataset fer2013 --epochs 240 --ema-decay 0.999 --model dropout=0.1
             --augment erase=0.25 --precision bf16)
# The 60-epoch proxy of the shipped recipe (fer2013_wd005) that the lr_batch and optimizer lanes
# change one setting of and compare with fer2013_lrb_base (argparse keeps the last --epochs).
FER2013_PROXY=("${FER2013_240[@]}" --weight-decay 0.05 --epochs 60)

run() {  # run NAME ARGS...: train unless the candidate exists
  local name=$1; shift
  if [[ -f runs/candidates/$name.json ]]; then echo "skip $name (done)"; return; fi
  echo "$(date -u +%H:%M:%S) start $name"
  "$DE" train "${COMMON[@]}" --out "runs/candidates/$name" --run-dir "runs/$name" "$@"
  echo "$(date -u +%H:%M:%S) done $name"
}

small() {
  local ck=(--dataset ckplus --batch-size 32 --model dropout=0.2)
  local jf=(--dataset jaffe --batch-size 16 --model dropout=0.2)
  run ckplus_stratified "${ck[@]}" --protocol stratified --epochs 60
  run ckplus_cv10 "${ck[@]}" --protocol subject-kfold --folds 10 --epochs 40
  run jaffe_stratified "${jf[@]}" --protocol stratified --epochs 150
  run jaffe_loso "${jf[@]}" --protocol loso --epochs 100
}

finetune_from() {  # finetune_from INIT SUFFIX: the fine-tuning recipes, starting from INIT
  # The body and the shared head rows start from INIT (its weights hash goes into each card).
  local init=$1 suffix=$2
  local ck=(--dataset ckplus --batch-size 32 --model dropout=0.2)
  local jf=(--dataset jaffe --batch-size 16 --model dropout=0.2)
  run "ckplus_stratified_ft$suffix" "${ck[@]}" --protocol stratified --epochs 30 --lr 0.001 --init "$init"
  run "jaffe_stratified_ft$suffix" "${jf[@]}" --protocol stratified --epochs 80 --lr 0.001 --init "$init"
  run "ckplus_cv10_ft$suffix" "${ck[@]}" --protocol subject-kfold --folds 10 --epochs 20 --lr 0.001 --init "$init"
  run "jaffe_loso_ft$suffix" "${jf[@]}" --protocol loso --epochs 50 --lr 0.001 --init "$init"
}

finetune() {
  # The shipped "fine-tuned from fer2013_60ep" rows (that network was named fer2013 when they ran).
  finetune_from checkpoints/fer2013_60ep ""
}

finetune_v2() {
  # The same recipes from the 240-epoch network shipped as fer2013: each scored lower on
  # validation than finetune's, so none was promoted.
  finetune_from checkpoints/fer2013_240 _v2
}

ferplus() {
  run ferplus_soft --dataset ferplus --epochs 40 --soft-labels true --ema-decay 0.998 \
    --model dropout=0.2 --augment erase=0.25
}

long() {
  # Session 2: the 60-epoch runs still underfit (train accuracy below validation), so these
  # run longer with less dropout and a slower EMA; one thread each, side by side.
  run fer2013_long --dataset fer2013 --epochs 160 --ema-decay 0.999 --model dropout=0.1 --augment erase=0.25
}

longer() {
  # bf16 autocast (abl_bf16: same 6-epoch accuracy as fp32) buys the epochs: 240 in the time of 130.
  run fer2013_240_bf16 --dataset fer2013 --epochs 240 --ema-decay 0.999 --model dropout=0.1 \
    --augment erase=0.25 --precision bf16
}

ferplus_long() {
  run ferplus_soft_long --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
    --model dropout=0.1 --augment erase=0.25
}

ablations_a() {
  # Short schedules (6 epochs) from one baseline, one change each; validation (PublicTest) only.
  run abl_base --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25
  run abl_no_stn --dataset fer2013 --epochs 6 --model dropout=0.2 use_stn=false --augment erase=0.25
  run abl_input_warp --dataset fer2013 --epochs 6 --model dropout=0.2 layout=\"input_warp\" --augment erase=0.25
  run abl_no_augment --dataset fer2013 --epochs 6 --model dropout=0.2 --augment flip=0 rotate_deg=0 'scale=[1,1]' shift_px=0 erase=0
}

ablations_b() {
  run abl_no_erase --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0
  run abl_no_smoothing --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --label-smoothing 0
  run abl_constant_lr --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --schedule constant --lr 0.001
  run abl_dropout_05 --dataset fer2013 --epochs 6 --model dropout=0.5 --augment erase=0.25
}

ablations_c() {
  # Two directions the accuracy issue names: class-balanced loss (disgust, fear) and the warp's padding.
  run abl_class_sqrt --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --class-weighting sqrt
  run abl_pad_border --dataset fer2013 --epochs 6 --model dropout=0.2 padding_mode=\"border\" --augment erase=0.25
}

ablations_d() {
  # Session 10: weight decay, the one regulariser the accuracy issue names that had no row.  The
  # default (1e-4 on the fully connected layers, decoupled by AdamW) shrinks weights by lr x wd =
  # 3e-7 a step at the peak rate, next to nothing; these take it off and raise it to 0.05.
  run abl_weight_decay_0 --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --weight-decay 0
  run abl_weight_decay_005 --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --weight-decay 0.05
}

ablation_bf16() {
  # bfloat16 autocast (1.9x per step on this CPU): does it cost accuracy against abl_base?
  run abl_bf16 --dataset fer2013 --epochs 6 --model dropout=0.2 --augment erase=0.25 --precision bf16
}

distill() {
  # Session 4: the 240-epoch network ends with training accuracy equal to validation, i.e. this
  # 77k-parameter network is short of capacity.  Distilling the shipped fer2013 network (its
  # soft targets are easier to fit than one-hot labels; teacher selected on PublicTest only)
  # plus square-root class weighting (abl_class_sqrt: disgust validation recall 0 -> 32%).
  run fer2013_kd_sqrt --dataset fer2013 --epochs 180 --ema-decay 0.999 --model dropout=0.1 \
    --augment erase=0.25 --precision bf16 --teacher checkpoints/fer2013_240 --class-weighting sqrt
}

distill_lean() {
  # The same distillation with less regularisation (no dropout, no random erasing): the
  # network underfits, so these may cost more than they give.
  run fer2013_kd_sqrt_lean --dataset fer2013 --epochs 180 --ema-decay 0.999 --model dropout=0.0 \
    --augment erase=0 --precision bf16 --teacher checkpoints/fer2013_240 --class-weighting sqrt
}

# The small_v3 recipe (session 4), shared by the stratified and subject-independent lanes.
V3_CK=(--dataset ckplus --batch-size 32 --model dropout=0.1 --ema-decay 0.99)
V3_JF=(--dataset jaffe --batch-size 16 --model dropout=0.1 --ema-decay 0.99)

small_v3() {
  # Session 4: the first small-dataset recipes stopped while training accuracy was 0.80-0.95
  # (JAFFE: 1,200 steps in all) and validation swung epoch to epoch.  Longer schedules with an
  # EMA of the weights; fine-tuning from the same fer2013_60ep network as the shipped _ft rows.
  run ckplus_stratified_v3 "${V3_CK[@]}" --protocol stratified --epochs 150
  run jaffe_stratified_v3 "${V3_JF[@]}" --protocol stratified --epochs 600
  run ckplus_stratified_ft_v3 "${V3_CK[@]}" --protocol stratified --epochs 100 --lr 0.001 --init checkpoints/fer2013_60ep
  run jaffe_stratified_ft_v3 "${V3_JF[@]}" --protocol stratified --epochs 300 --lr 0.001 --init checkpoints/fer2013_60ep
}

small_cv_v3() {
  # The small_v3 recipes under the subject-independent protocols (the last two ran side by side).
  run ckplus_cv10_v3 "${V3_CK[@]}" --protocol subject-kfold --folds 10 --epochs 100
  run jaffe_loso_v3 "${V3_JF[@]}" --protocol loso --epochs 400
  run ckplus_cv10_ft_v3 "${V3_CK[@]}" --protocol subject-kfold --folds 10 --epochs 60 --lr 0.001 \
    --init checkpoints/fer2013_60ep
  run jaffe_loso_ft_v3 "${V3_JF[@]}" --protocol loso --epochs 200 --lr 0.001 --init checkpoints/fer2013_60ep
}

ckplus_v4() {
  # Session 5: the shipped ckplus row (small_v3) is one test face short of the paper.  Three
  # variations of its recipe at the same seed, hence the same split; promote.py takes one only
  # if it beats the shipped row on validation (accuracy, then validation loss).
  run ckplus_stratified_v4_300ep "${V3_CK[@]}" --protocol stratified --epochs 300
  run ckplus_stratified_v4_ema995 "${V3_CK[@]}" --protocol stratified --epochs 150 --ema-decay 0.995
  run ckplus_stratified_v4_batch16 "${V3_CK[@]}" --protocol stratified --epochs 150 --batch-size 16
}

ferplus_ft() {
  # Session 5: ferplus_soft_long ended underfitting (training accuracy 0.74 below validation
  # 0.77).  Start from the shipped fer2013 network instead: trained on the same Training images
  # (FER2013 labels) and selected on PublicTest, so no validation or test row leaks in.
  run ferplus_soft_ft --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
    --model dropout=0.1 --augment erase=0.25 --precision bf16 --lr 0.001 --init checkpoints/fer2013_240
}

fer2013_votes() {
  # Session 5: FER+ votes as a teacher signal for FER2013 (the issue's list): each Training
  # target is 0.7 * one-hot(FER2013 label) + 0.3 * the image's FER+ vote distribution.  Below
  # 0.5 the FER2013 label stays the argmax of every target.  Otherwise the shipped fer2013
  # recipe (longer), so the two compare on PublicTest.
  run fer2013_votes30 --dataset fer2013 --epochs 240 --ema-decay 0.999 --model dropout=0.1 \
    --augment erase=0.25 --precision bf16 --vote-share 0.3
}

fer2013_votes_ft() {
  # The same targets continuing the shipped fer2013 network for 60 epochs, and the control: the
  # same continuation with FER2013 labels only, so a gain is not just the extra epochs.
  local ft=(--dataset fer2013 --epochs 60 --ema-decay 0.999 --model dropout=0.1 --augment erase=0.25
            --precision bf16 --lr 0.001 --init checkpoints/fer2013_240)
  run fer2013_votes30_ft "${ft[@]}" --vote-share 0.3
  run fer2013_continue_ft "${ft[@]}"
}

stn_long() {
  # Session 5: the attention branch tested over a real schedule, not only 6 epochs: fer2013_main's
  # exact recipe (60 epochs, fp32) without the localization branch; compare on PublicTest.
  run fer2013_main_no_stn --dataset fer2013 --epochs 60 --ema-decay 0.998 --model dropout=0.2 \
    use_stn=false --augment erase=0.25
}

teacher_wide() {
  # Session 5: a wider teacher for distillation (the issue's list).  channels 32 and hidden 256
  # (726,775 parameters) cost 1.7x the paper network per step here (101 against 58 ms, one
  # thread, bf16), so it fits a CPU session; trained on Training, selected on PublicTest.
  run fer2013_teacher_wide --dataset fer2013 --epochs 50 --ema-decay 0.998 --threads 2 \
    --model channels=32 hidden=256 dropout=0.2 --augment erase=0.25 --precision bf16
}

distill_wide() {
  # The paper network (shipped fer2013) continued for 30 epochs under the wide teacher
  # (checkpoints/fer2013_wide, shipped in float16).  fer2013_continue_ft is the same run without
  # a teacher (60 epochs; its best PublicTest epoch was the 7th).  Result: 61.88 at epoch 1,
  # not promoted (docs/ablations/fer2013_kd_wide_ft.json).
  run fer2013_kd_wide_ft --dataset fer2013 --epochs 30 --ema-decay 0.999 --model dropout=0.1 \
    --augment erase=0.25 --precision bf16 --lr 0.001 --init checkpoints/fer2013_240 \
    --teacher checkpoints/fer2013_wide --threads 2
}

distill_wide_scratch() {
  # The shipped 240-epoch recipe from scratch, distilled from the wide teacher (PublicTest 65.14
  # against the paper network's 61.94).  Result: PublicTest 61.58 at epoch 239, not promoted
  # (docs/ablations/fer2013_kd_wide.json).  Epochs 1-11 ran with this lane's one thread; the
  # resumed epochs 12-240 ran alone on the machine with --threads 2 appended by hand.
  run fer2013_kd_wide --dataset fer2013 --epochs 240 --ema-decay 0.999 --model dropout=0.1 \
    --augment erase=0.25 --precision bf16 --teacher checkpoints/fer2013_wide
}

ferplus_wide() {
  # Session 6: fer2013_wide's width (channels 32, hidden 256) on FER+ with soft labels, to see
  # how much of the FER+ gap to 80% capacity closes; an extra row, never the paper-network row.
  # Result: PublicTest 81.65 (epoch 47), test 79.61 / flip 80.57; shipped as ferplus_wide
  # (python scripts/promote.py ferplus_wide ferplus_wide --half).
  run ferplus_wide --dataset ferplus --epochs 50 --soft-labels true --ema-decay 0.998 --threads 2 \
    --model channels=32 hidden=256 dropout=0.2 --augment erase=0.25 --precision bf16
}

distill_ferplus() {
  # Session 7: the shipped ferplus recipe (ferplus_long: 100 epochs, soft labels, EMA 0.999) with
  # ferplus_wide (PublicTest 81.65 against 77.09) as the teacher, in bf16 for speed; compared with
  # ferplus on PublicTest only.  Result: PublicTest 77.77 (epoch 88), test 75.55 / flip 76.85;
  # shipped as ferplus (python scripts/promote.py ferplus_kd_wide ferplus).
  run ferplus_kd_wide --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
    --model dropout=0.1 --augment erase=0.25 --precision bf16 --threads 2 \
    --teacher checkpoints/ferplus_wide
}

budget_width() {
  # Session 7: the issue allows the paper network "about 70-100k parameters".  The shipped one
  # spends 72.5k of its 76.8k on the first fully connected layer of each branch and 2.9k on the
  # feature branch's 4 convolutions (10 filters).  Here those get 20 filters and the classifier
  # 32 hidden units (96,243 parameters), on the 240-epoch FER2013 recipe and the undistilled
  # FER+ recipe (ferplus_soft_long), to see what the top of the budget buys.  (With ferplus_wide
  # as teacher the FER+ run took 35 s an epoch here, against 21 s for the 10-filter student; it
  # was stopped at epoch 13 for time.)  Result: PublicTest 62.36 against 61.94 on FER2013, 78.64
  # against 77.09 on FER+; wider variants.  FER+ shipped as an extra row (python scripts/promote.py
  # ferplus_c20 ferplus_c20); FER2013 kept as an ablation row.
  local budget=(--model channels=20 hidden=32 dropout=0.1 --augment erase=0.25 --precision bf16 --threads 2)
  run fer2013_c20 --dataset fer2013 --epochs 240 --ema-decay 0.999 "${budget[@]}"
  run ferplus_c20 --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 "${budget[@]}"
}

distill_ferplus_long() {
  # Session 8: the shipped ferplus recipe (distill_ferplus) over 200 epochs instead of 100.  At
  # the end of the 100-epoch run training accuracy (augmented, dropout on) was 74.0% against
  # 77.6% on PublicTest, the underfitting that 60 -> 240 epochs fixed in part on FER2013.
  # Compared with ferplus (PublicTest 77.77) on PublicTest only.  Result: PublicTest 77.91 (epoch
  # 150; 76.75 at epoch 100), test 75.27 / flip 76.11 / ten-crop 76.40; shipped as ferplus by the
  # validation rule (python scripts/promote.py ferplus_kd_long ferplus).  4,685 s, alone on the
  # machine with 2 threads.
  run ferplus_kd_long --dataset ferplus --epochs 200 --soft-labels true --ema-decay 0.999 \
    --model dropout=0.1 --augment erase=0.25 --precision bf16 --threads 2 \
    --teacher checkpoints/ferplus_wide
}

distill_c20() {
  # Session 9: budget_width's FER+ run distilled from ferplus_wide, as the shipped ferplus is
  # (it was stopped at epoch 13 in session 7 for time and resumes from there).  Compared with
  # ferplus_c20 (PublicTest 78.64) on PublicTest only; if it is ahead it replaces that extra
  # row, never the paper-network row.  Result: PublicTest 79.79 (epoch 87), test 77.38 / flip
  # 77.64 / ten-crop 77.72 (the undistilled one: 78.17 / 78.68 / 78.85); shipped as ferplus_c20
  # by the rule (python scripts/promote.py ferplus_c20_kd ferplus_c20).  Epochs 14-100 ran alone
  # on the machine, 22-30 s each.
  run ferplus_c20_kd --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
    --model channels=20 hidden=32 dropout=0.1 --augment erase=0.25 --precision bf16 --threads 2 \
    --teacher checkpoints/ferplus_wide
}

fer2013_more() {  # fer2013_more RUN: RUN = flip_only | 480 | ferplus_flip_only | noerase | ferplus_noerase | erase50 | wd005
  # Session 10: single changes to the shipped 240-epoch FER2013 recipe (fer2013_240_bf16,
  # PublicTest 61.94), one thread each, two side by side.  flip_only: mirroring kept, no rotation,
  # scaling, shift or erasing.  Augmentation was judged only over 6 epochs (abl_no_augment 54.14
  # against 52.05) and the 240-epoch network ends with training accuracy (under augmentation and
  # dropout) level with validation: a network this short of capacity may spend it on the
  # invariances the geometry asks for.  480: the same recipe over twice the epochs, because
  # schedule length is the largest gain measured (60 -> 240 epochs: 60.02 -> 61.94).  Rule fixed
  # before the runs: a run whose best PublicTest beats 61.94 replaces fer2013 (the better of the
  # two if both do); its test numbers are read only after that choice.  ferplus_flip_only runs
  # only if flip_only beats 61.94: the 100-epoch distilled FER+ recipe (distill_ferplus, 77.77)
  # with the same augmentation, replacing ferplus if its best PublicTest beats 77.91.
  # flip_only result: it overfits at once (epoch 50: training 67.9% against PublicTest 57.9%;
  # epoch 84: 75.3 against 56.9), best PublicTest 58.87 at epoch 35; stopped at epoch 84 for
  # time, so it has no card and ferplus_flip_only does not run.  It took the place of noerase:
  # the shipped recipe without random erasing (the rotation, scaling and shift kept), the step
  # between the two, under the same rule as 480; if it beats 61.94, ferplus_noerase runs: the
  # 100-epoch distilled FER+ recipe without erasing, replacing ferplus if it beats 77.91.
  # When erase50 was queued noerase trailed the shipped run at each tenth epoch from 40 to 100
  # (epoch 100: 59.79 against 60.96% PublicTest, training accuracy 60.3 against 58.4%), so
  # erase50 asks for more erasing (probability 0.5 against 0.25), under the same rule.
  # Results (docs/ablations/, README "Augmentation and schedule length"): best PublicTest 61.49
  # (480, epoch 406), 61.63 (noerase, epoch 190), 61.72 (erase50, epoch 134), all below 61.94,
  # so fer2013 stays and neither FER+ run ran.  About 11-14 s an epoch, two runs side by side.
  # wd005: weight decay 0.05 on the fully connected layers (abl_weight_decay_005: 53.05 against
  # 52.05 over 6 epochs), alone on the machine with two threads, under the same rule.  Result:
  # PublicTest 62.55 (epoch 219), ahead of 61.94, so it replaces fer2013 (python
  # scripts/promote.py fer2013_wd005 fer2013, then deep-emotion analyze --checkpoint fer2013;
  # done in session 11).  7 s an epoch.
  local shipped=(--dataset fer2013 --ema-decay 0.999 --model dropout=0.1 --precision bf16)
  local flip_only=(--augment rotate_deg=0 'scale=[1,1]' shift_px=0 erase=0)
  case ${1:-} in
    flip_only) run fer2013_flip_only "${shipped[@]}" --epochs 240 "${flip_only[@]}" ;;
    480) run fer2013_480 "${shipped[@]}" --epochs 480 --augment erase=0.25 ;;
    noerase) run fer2013_noerase "${shipped[@]}" --epochs 240 --augment erase=0 ;;
    erase50) run fer2013_erase50 "${shipped[@]}" --epochs 240 --augment erase=0.5 ;;
    wd005) run fer2013_wd005 "${shipped[@]}" --epochs 240 --augment erase=0.25 --weight-decay 0.05 \
             --threads 2 ;;
    ferplus_noerase)
      run ferplus_noerase --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
        --model dropout=0.1 --precision bf16 --teacher checkpoints/ferplus_wide --augment erase=0 ;;
    ferplus_flip_only)
      run ferplus_flip_only --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
        --model dropout=0.1 --precision bf16 --teacher checkpoints/ferplus_wide "${flip_only[@]}" ;;
    *) echo "fer2013_more RUN: RUN is flip_only, 480, ferplus_flip_only, noerase, ferplus_noerase, erase50 or wd005" >&2; exit 2 ;;
  esac
}

weight_decay() {  # weight_decay RUN: RUN = fer2013_wd02 | ferplus_wd005
  # Session 11: fer2013_wd005 (weight decay 0.05 on the fully connected layers, not 1e-4) beat
  # the 240-epoch recipe on PublicTest (62.55 against 61.94) and was shipped as fer2013.  Two
  # runs follow it, one thread each, side by side.  fer2013_wd02: the shipped recipe with weight
  # decay 0.2, further in the direction that won; it replaces fer2013 if its best PublicTest
  # beats 62.55.  ferplus_wd005: the 100-epoch distilled FER+ recipe (distill_ferplus, PublicTest
  # 77.77) with weight decay 0.05; it replaces ferplus if its best PublicTest beats 77.91 (the
  # shipped 200-epoch network).  Rules fixed before the runs; test numbers are read only after
  # the choice.  Results (docs/ablations/, README): fer2013_wd02 61.97 (epoch 200; training
  # accuracy below the 0.05 run throughout), ferplus_wd005 77.68 (epoch 98), so neither
  # replaced its checkpoint.  Side by side, one thread each: 12 s (FER2013) and 40 s (FER+,
  # with the teacher's forward pass) an epoch.
  case ${1:-} in
    fer2013_wd02) run fer2013_wd02 "${FER2013_240[@]}" --weight-decay 0.2 ;;
    ferplus_wd005)
      run ferplus_wd005 --dataset ferplus --epochs 100 --soft-labels true --ema-decay 0.999 \
        --model dropout=0.1 --augment erase=0.25 --precision bf16 --weight-decay 0.05 \
        --teacher checkpoints/ferplus_wide ;;
    *) echo "weight_decay RUN: RUN is fer2013_wd02 or ferplus_wd005" >&2; exit 2 ;;
  esac
}

fer2013_seeds() {  # fer2013_seeds SEED ...: the shipped FER2013 recipe (fer2013_wd005) with other training seeds
  # Session 11: every FER2013 recipe change since the 240-epoch schedule has moved PublicTest by
  # under a point, one seed each, so the spread over training seeds is the missing error bar.
  # Seed 0 is fer2013_wd005 itself (two threads); seeds 1 and 2 run with one thread each, side
  # by side.  Rule fixed before the runs: the seed study docs/seeds/fer2013_wd005/ (seeds 0-2)
  # ships the run that training's epoch rule prefers (PublicTest accuracy, then the lower
  # PublicTest loss) as fer2013; the test column is reported for every seed and never used.
  # Result (docs/seeds/fer2013_wd005/, README "FER2013, fer2013_wd005"): PublicTest 62.55 /
  # 61.80 (epoch 194) / 62.13 (epoch 193) for seeds 0 / 1 / 2, so seed 0 stays as fer2013; test
  # 62.82 +- 0.22 over the three.  12 s an epoch side by side, 11 s alone, one thread.
  local seed
  for seed in "$@"; do
    run "fer2013_wd005_seed$seed" "${FER2013_240[@]}" --weight-decay 0.05 --seed "$seed"
  done
}

fer2013_240_seeds() {  # fer2013_240_seeds SEED ...: fer2013_240's recipe (weight decay 1e-4) with other seeds
  # Session 11: the fer2013_wd005 seed study spans 61.80-62.55 on PublicTest, and fer2013_240
  # (weight decay 1e-4, 61.94) lies inside it, so whether weight decay 0.05 helps rests on one
  # seed of each.  Seeds 1 and 2 of the 1e-4 recipe (docs/seeds/fer2013_240/ with
  # fer2013_240_bf16 as seed 0) compare the recipes over three seeds each.  Rule fixed before
  # the runs: a run whose best PublicTest beats the shipped fer2013 (62.55) replaces it; the
  # test column is reported and never used.  Started at the end of session 11 and lost with that
  # machine; rerun from scratch in session 12 (one thread each, side by side, 11-13 s an epoch).
  # Result (docs/seeds/fer2013_240/, README "FER2013, fer2013_240"): PublicTest 61.72 (epoch 173)
  # and 61.74 (epoch 178) for seeds 1 and 2, so fer2013 stays; test 61.63 and 61.33, and
  # 62.09 +- 1.06 over seeds 0-2 against 62.82 +- 0.22 for the weight decay 0.05 recipe.
  local seed
  for seed in "$@"; do
    run "fer2013_240_seed$seed" "${FER2013_240[@]}" --seed "$seed"
  done
}

regularisers() {  # regularisers RUN: RUN = drop0 | nosmooth
  # Session 12: the shipped recipe (fer2013_wd005) ends with training accuracy under augmentation
  # and dropout level with PublicTest, and flip_only showed the network can overfit once the
  # augmentation goes: it is short of capacity for the augmented task.  Augmentation pays
  # (noerase, erase50, flip_only all lost), so these take off the two other regularisers
  # instead, one each, both favoured by the 6-epoch rows (abl_no_smoothing 52.97 and
  # abl_dropout_05 51.07 against abl_base 52.05).  drop0: dropout 0 (not 0.1) after the
  # feature branch.  nosmooth: label smoothing 0 (not 0.1).  One thread each, side by side.
  # Rule fixed before the runs: a run whose best PublicTest beats the shipped fer2013 (62.55,
  # or a fer2013_240_seeds run's if one replaces it first) replaces it (the better of the two if
  # both do); the test column is read only after that.
  # Margin for calling it a better recipe (not just a better network): the shipped recipe's
  # three seeds give PublicTest 62.16 +- 0.38, so a single run must beat their mean by more than
  # a point (above 63.16) before the README says the change helps; below that it says
  # "within seed noise".  Results (docs/ablations/, README): drop0 61.38 (epoch 213; training
  # accuracy 63.0 at the end against 62.1), nosmooth 61.94 (epoch 216), so fer2013 stays; both
  # below the recipe's seed mean.  About 12-15 s an epoch side by side.
  case ${1:-} in
    # A later --model replaces the recipe's (dropout=0.1 is its only model override).
    drop0) run fer2013_drop0 "${FER2013_240[@]}" --weight-decay 0.05 --model dropout=0 ;;
    nosmooth) run fer2013_nosmooth "${FER2013_240[@]}" --weight-decay 0.05 --label-smoothing 0 ;;
    *) echo "regularisers RUN: RUN is drop0 or nosmooth" >&2; exit 2 ;;
  esac
}

lr_batch() {  # lr_batch RUN: RUN = base | base1 | base2 | lr1e-3 | lr1e-2 | bs64 | bs256 | bs32 | per_image
  # Session 13: the search over learning rate and batch size that the earlier sessions left
  # undone.  A 60-epoch proxy of the shipped recipe (fer2013_wd005: AdamW, OneCycle, lr 3e-3,
  # batch 128), one change each, with its own 60-epoch baseline (base) run here on the same
  # code, judged on PublicTest only.  One thread each, two side by side.
  # Rule fixed before the runs: the proxy point with the best PublicTest, if it beats base by
  # 0.5 points or more, is rerun over the full 240 epochs (RUN full, its settings filled in here
  # after the proxies finish); that network replaces the shipped fer2013 if its best PublicTest
  # beats 62.55, and the README calls it a better recipe only above 63.16 (the recipe's three
  # seeds' PublicTest mean plus a point).  If none beats base by 0.5, nothing more is run.
  # per_image (added while the first proxies ran, before any had finished): the same proxy with
  # each face standardised to zero mean and unit variance inside the network (model.py,
  # input_norm), since the augmentation never varies contrast; it is judged by the same rule
  # and competes for the same 240-epoch run.
  # base1, base2 (added after the proxies above had finished): the baseline again with training
  # seeds 1 and 2, to measure how far a proxy moves with the seed alone.
  # Result (docs/ablations/fer2013_lrb_*, README "Learning rate, batch size and per-image
  # standardisation"): best PublicTest base 60.18, base1 59.60, base2 59.79 (59.86 +- 0.30);
  # lr1e-3 58.96, lr1e-2 59.13, bs32 59.68, bs64 60.24, bs256 59.46, per_image 59.65.  None is
  # 0.5 ahead of base, so no 240-epoch run and fer2013 stays.  13-19 s an epoch side by side.
  case ${1:-} in
    # A later --epochs / --lr / --batch-size replaces the earlier one (argparse keeps the last).
    base) run fer2013_lrb_base "${FER2013_PROXY[@]}" ;;
    base1 | base2) run "fer2013_lrb_base_seed${1#base}" "${FER2013_PROXY[@]}" --seed "${1#base}" ;;
    lr1e-3) run fer2013_lrb_lr1e-3 "${FER2013_PROXY[@]}" --lr 0.001 ;;
    lr1e-2) run fer2013_lrb_lr1e-2 "${FER2013_PROXY[@]}" --lr 0.01 ;;
    bs64) run fer2013_lrb_bs64 "${FER2013_PROXY[@]}" --batch-size 64 ;;
    bs32) run fer2013_lrb_bs32 "${FER2013_PROXY[@]}" --batch-size 32 ;;
    bs256) run fer2013_lrb_bs256 "${FER2013_PROXY[@]}" --batch-size 256 --lr 0.006 ;;
    # A later --model replaces the recipe's (dropout=0.1 is its only model override).
    per_image) run fer2013_lrb_per_image "${FER2013_PROXY[@]}" --model dropout=0.1 input_norm=per_image ;;
    *) echo "lr_batch RUN: RUN is base, base1, base2, lr1e-3, lr1e-2, bs64, bs32, bs256 or per_image" >&2; exit 2 ;;
  esac
}

optimizer() {  # optimizer RUN: RUN = sgd | sgd_hi
  # Session 14: the one optimizer axis no earlier session measured.  Every FER2013 network so
  # far trained with Adam or AdamW; SGD with Nesterov momentum (0.9, cycled 0.85-0.95 by
  # OneCycle) is what several strong FER2013 results use.  The same 60-epoch proxy as lr_batch,
  # judged against its baseline fer2013_lrb_base (best PublicTest 60.18; three seeds 59.86 +-
  # 0.30), so no new baseline is run.  SGD's weight decay is coupled L2 on the FC layers (as the
  # recipe's); 5e-4 is the usual value for SGD (AdamW's 0.05 is decoupled and scaled by lr).
  # Rule fixed before the runs (the lr_batch rule): the better proxy, if its best PublicTest
  # beats 60.68 (base + 0.5), is rerun over the full 240 epochs (RUN full, filled in after
  # the proxies finish); that network replaces fer2013 if its best PublicTest beats 62.55.
  # Result (docs/ablations/fer2013_opt_*, README "SGD instead of AdamW"): best PublicTest 60.07
  # (sgd, epoch 55) and 60.02 (sgd_hi, epoch 59), inside the baseline's seed spread; no
  # 240-epoch run, fer2013 stays.  About 14 s an epoch side by side.
  case ${1:-} in
    sgd) run fer2013_opt_sgd "${FER2013_PROXY[@]}" --optimizer sgd --lr 0.01 --weight-decay 0.0005 ;;
    sgd_hi) run fer2013_opt_sgd_hi "${FER2013_PROXY[@]}" --optimizer sgd --lr 0.05 --weight-decay 0.0005 ;;
    *) echo "optimizer RUN: RUN is sgd or sgd_hi" >&2; exit 2 ;;
  esac
}

recipe_extra() {  # recipe_extra NAME: sets `extra` to what recipe NAME adds to small_v3
  case $1 in
    v3) extra=() ;;
    sqrt) extra=(--class-weighting sqrt) ;;
    nosmooth) extra=(--label-smoothing 0) ;;
    strong) extra=(--augment rotate_deg=15 'scale=[0.85,1.15]' shift_px=6) ;;
    noerase) extra=(--augment erase=0) ;;
    drop03) extra=(--model dropout=0.3) ;;
    # Session 13: per-image standardisation (model.py input_norm) over each shipped recipe.  A
    # later --model / --augment replaces the whole earlier list, so each repeats what it keeps.
    drop03_per_image) extra=(--model dropout=0.3 input_norm=per_image) ;;
    noerase_per_image) extra=(--augment erase=0 --model dropout=0.1 input_norm=per_image) ;;
    *) echo "recipe_extra: unknown recipe $1" >&2; exit 2 ;;
  esac
}

small_v3_of() {  # small_v3_of DATASET: sets `recipe` to the shipped small_v3 recipe of DATASET
  case $1 in
    ckplus) recipe=("${V3_CK[@]}" --epochs 150) ;;
    jaffe) recipe=("${V3_JF[@]}" --epochs 600) ;;
    *) echo "DATASET is ckplus or jaffe" >&2; exit 2 ;;
  esac
}

recipes() {  # recipes DATASET [RECIPE ...]
  # Session 9: choosing a paper-style recipe without the test rows.  CK+'s 98 validation faces
  # (JAFFE's 23) are all right for most runs, so they cannot rank recipes; here each recipe is
  # scored by 10-fold stratified cross-validation over the train + validation rows of the shipped
  # split (CK+ 785, JAFFE 143; --protocol stratified-inner --split-seed 0: fold i scored, fold
  # i+1 selects the epoch, the rest train; the test rows are never used).  Recipes: the shipped
  # small_v3 and one change each (recipe_extra; JAFFE skips sqrt: its classes hold 29-32 faces
  # each, so the weights would be about 1).  Rule fixed before the runs: the recipe with the most
  # held-out faces right, pooled over the 10 folds, wins; a tie with small_v3 keeps it, a tie
  # between other recipes goes to the higher held-out macro-F1 (results.recipe_study).  A winner
  # other than small_v3 is then trained with seeds 0-9 on the paper split (seeds DATASET:RECIPE)
  # and the seed rule picks the shipped network; if small_v3 wins, the shipped row stays.  Two
  # one-thread processes share the cores: recipes ckplus v3 sqrt nosmooth / recipes ckplus
  # strong noerase drop03.
  # Result, CK+ (README "Choosing the recipe without the test rows", docs/recipes/ckplus/): held-
  # out faces right of 785: v3 771, sqrt 770, nosmooth 772, strong 769, noerase 772, drop03 775;
  # drop03 wins.  Its seeds (docs/seeds/ckplus_drop03/): test 97.14 +- 1.23; the seed rule picks
  # seed 3 (test 97.45), shipped as ckplus (python scripts/promote.py ckplus_drop03_seed3 ckplus).
  # JAFFE (docs/recipes/jaffe/): of 143, v3 113, nosmooth 110, strong 103, noerase 116, drop03
  # 110; noerase wins by a margin within noise.  Its seeds (docs/seeds/jaffe_noerase/): all at
  # 100% validation, test 88.14 +- 2.24; the seed rule picks seed 1 (test 84.29), shipped as jaffe
  # (python scripts/promote.py jaffe_noerase_seed1 jaffe) in place of the small_v3 network
  # (94.29).  About 11 min a recipe, 70 s a seed (2 min with three processes on the cores).
  # Session 13: recipes ckplus drop03_per_image / recipes jaffe noerase_per_image, each shipped
  # recipe with per-image standardisation.  Rule fixed before the runs, with the margin the
  # JAFFE study asked for: it replaces the shipped recipe only if it gets more held-out faces
  # right by more than one standard error of the difference (README: about 5 faces on CK+, 7 on
  # JAFFE), i.e. CK+ 781 of 785 or more (drop03: 775), JAFFE 124 of 143 or more (noerase: 116);
  # then ten seeds and the seed rule, as before.  Otherwise the shipped rows stay.
  # Result (docs/recipes/*/rule.json records each margin): CK+ 772 of 785, JAFFE 122 of 143;
  # neither clears its margin, so no seeds were trained and ckplus and jaffe stay.
  local dataset=$1; shift
  local picked=("$@")
  if (( ! ${#picked[@]} )); then
    picked=(v3 sqrt nosmooth strong noerase drop03)
    [[ $dataset == jaffe ]] && picked=(v3 nosmooth strong noerase drop03)
  fi
  inner_runs "$dataset" 0 "" "${picked[@]}"
}

inner_runs() {  # inner_runs DATASET SEED SUFFIX RECIPE ...: each recipe under stratified-inner
  # Runs are named DATASET_inner_RECIPE then SUFFIX; --split-seed 0 keeps the shipped split's
  # folds (and its test rows out) whatever the training seed.
  local dataset=$1 seed=$2 suffix=$3 name; shift 3
  small_v3_of "$dataset"
  for name in "$@"; do
    recipe_extra "$name"
    run "${dataset}_inner_$name$suffix" "${recipe[@]}" "${extra[@]}" \
      --protocol stratified-inner --folds 10 --seed "$seed" --split-seed 0
  done
}

recipe_replicas() {  # recipe_replicas DATASET SEED RECIPE ...: recipes again, another training seed
  # Session 13: JAFFE's per-image recipe led the shipped noerase by 6 held-out faces of 143,
  # inside the margin of 7 (recipes above), the largest lead the study has seen.  This repeats
  # both with training seed 1 on the same inner folds (--split-seed 0 keeps the folds and the
  # paper split's test rows out): recipe_replicas jaffe 1 noerase noerase_per_image, one thread
  # each, side by side.  Rule fixed before the runs: pooled over training seeds 0 and 1 (286
  # held-out predictions each), per-image must lead by more than 14 faces (twice the one-run
  # margin, the bound when both runs' errors come from the same faces) to earn the ten
  # paper-split seeds and the seed rule; otherwise jaffe stays.  Cards: docs/replications/.
  # Result: seed 1 gives noerase 124 and noerase_per_image 119 of 143; pooled 240 against 241,
  # a lead of one face, so jaffe stays.  About 13 min each, side by side.
  local dataset=$1 seed=$2; shift 2
  inner_runs "$dataset" "$seed" "_seed$seed" "$@"
}

seeds() {  # seeds DATASET [SEED ...]
  # Session 8: a shipped paper-style recipe (small_v3) with training seeds 0-9 on the shipped
  # split (--split-seed 0: the same rows; seed 0 re-trains the shipped network with today's code,
  # a check that the recipe is unchanged).  The validation faces (CK+ 98, JAFFE 23) are all right
  # for most runs and one test face is half a point on CK+ (1.4 on JAFFE), so the spread over
  # seeds is the honest error bar.  Rule fixed before the runs: ship the run that training's
  # epoch rule prefers (validation accuracy, then lower validation loss); the test column is
  # reported for every seed and never used.  Seeds as arguments run a subset, so two one-thread
  # processes can share the cores: seeds ckplus 0 2 4 6 8 / seeds ckplus 1 3 5 7 9.
  # Result, CK+ (README "CK+ over training seeds", docs/seeds/ckplus/): seed 0 reproduces the
  # shipped weights bit for bit; test 97.24 +- 0.65 over the ten seeds (189-193 of 196 faces);
  # the rule picks seed 3 (validation 100%, loss 0.0917; test 96.94), shipped as ckplus
  # (python scripts/promote.py ckplus_seed3 ckplus).  JAFFE (docs/seeds/jaffe/): seed 0
  # reproduces the shipped weights bit for bit and is the only seed at 100% validation, so the
  # shipped jaffe stays (test 94.29); the ten seeds score 90.43 +- 2.61 (60-66 of 70 faces).
  # About 70 s a run on one thread for either dataset.
  # DATASET may name a recipe of recipe_extra (ckplus:sqrt -> runs ckplus_sqrt_seedN).
  local dataset=${1%%:*} prefix=${1/:/_} seed; shift
  small_v3_of "$dataset"
  extra=()
  [[ $prefix == "$dataset" ]] || recipe_extra "${prefix#"${dataset}"_}"
  recipe+=("${extra[@]}")
  local picked=("$@")
  (( ${#picked[@]} )) || picked=(0 1 2 3 4 5 6 7 8 9)
  for seed in "${picked[@]}"; do
    run "${prefix}_seed$seed" "${recipe[@]}" --protocol stratified --seed "$seed" --split-seed 0
  done
}

case "${1:-all}" in
  small) small ;; finetune) finetune ;; finetune_v2) finetune_v2 ;; ferplus) ferplus ;; long) long ;; longer) longer ;; ferplus_long) ferplus_long ;; ablation_bf16) ablation_bf16 ;; ablations_c) ablations_c ;; ablations_d) ablations_d ;;
  distill) distill ;; small_v3) small_v3 ;; small_cv_v3) small_cv_v3 ;; distill_lean) distill_lean ;;
  ckplus_v4) ckplus_v4 ;; ferplus_ft) ferplus_ft ;;
  fer2013_votes) fer2013_votes ;; fer2013_votes_ft) fer2013_votes_ft ;; stn_long) stn_long ;; teacher_wide) teacher_wide ;; distill_wide) distill_wide ;; distill_wide_scratch) distill_wide_scratch ;; ferplus_wide) ferplus_wide ;;
  distill_ferplus) distill_ferplus ;; budget_width) budget_width ;; distill_ferplus_long) distill_ferplus_long ;; distill_c20) distill_c20 ;; fer2013_more) shift; fer2013_more "$@" ;; weight_decay) shift; weight_decay "$@" ;; fer2013_seeds) shift; fer2013_seeds "$@" ;; fer2013_240_seeds) shift; fer2013_240_seeds "$@" ;; regularisers) shift; regularisers "$@" ;; lr_batch) shift; lr_batch "$@" ;; optimizer) shift; optimizer "$@" ;; recipes) shift; recipes "$@" ;; recipe_replicas) shift; recipe_replicas "$@" ;; seeds) shift; seeds "$@" ;;
  ablations_a) ablations_a ;; ablations_b) ablations_b ;;
  all) small; ferplus; ablations_a; ablations_b; finetune ;;
  *) echo "usage: $0 small|finetune_v2|finetune|ferplus|ablations_a|ablations_b|long|longer|ferplus_long|ablation_bf16|ablations_c|ablations_d|distill|distill_lean|small_v3|small_cv_v3|ckplus_v4|ferplus_ft|fer2013_votes|fer2013_votes_ft|stn_long|teacher_wide|distill_wide|distill_wide_scratch|ferplus_wide|distill_ferplus|budget_width|distill_ferplus_long|distill_c20|fer2013_more|weight_decay|fer2013_seeds|fer2013_240_seeds|regularisers|lr_batch|optimizer|recipes|recipe_replicas|seeds|all" >&2; exit 2 ;;
esac
