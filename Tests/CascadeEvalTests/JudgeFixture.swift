/// A tiny case run once through the neutral judges, with the numbers they printed, so the tests
/// can check parity without reading the judges at run time.
///
/// Top-K: `interactions` was written as a CSV with header `user,item,rating,timestamp`, split with
/// `topk_judge.py split inter.csv out --min-rating 3` (and again with `--test-frac 0.34`), then
/// `recommendations` (header `user,item,rank`) scored with `topk_judge.py score out recs.csv --k K`.
/// Click-through: `ctrRows` (label, user number, score) was written as `test.csv` and
/// `pred_x.csv` and scored with `ctr_judge.py score`.
enum JudgeFixture {
    /// (user, item, rating, timestamp) in file order.
    static let interactions: [(String, String, Int, Double)] = [
        ("r1", "i1", 2, 15), ("uc", "i3", 4, 7), ("r1", "i11", 4, 14), ("r5", "i13", 4, 29), ("r5", "i13", 3, 14),
        ("r2", "i5", 2, 3), ("r1", "i10", 2, 25), ("r4", "i1", 5, 25), ("r4", "i8", 3, 22), ("r1", "i8", 4, 15),
        ("r5", "i8", 3, 24), ("ub", "i4", 5, 30), ("r0", "i2", 2, 20), ("r4", "i12", 2, 1), ("ud", "i8", 2, 1),
        ("r2", "i10", 2, 13), ("r0", "i14", 5, 15), ("r4", "i2", 4, 11), ("r0", "i10", 3, 4), ("r2", "i13", 3, 17),
        ("r3", "i14", 4, 13), ("r0", "i13", 5, 21), ("r5", "i11", 5, 4), ("r3", "i11", 2, 7), ("r5", "i7", 5, 7),
        ("r0", "i12", 3, 20), ("r4", "i2", 3, 25), ("uc", "i2", 4, 7), ("r0", "i1", 2, 2), ("r3", "i4", 2, 16),
        ("r4", "i1", 5, 26), ("ub", "i6", 4, 50), ("r3", "i2", 2, 28), ("ub", "i5", 4, 40), ("r1", "i10", 3, 17),
        ("r0", "i7", 5, 21), ("r0", "i1", 3, 29), ("ua", "i1", 5, 100), ("r0", "i8", 4, 5), ("r2", "i12", 4, 11),
        ("r5", "i1", 4, 28), ("uc", "i7", 4, 3), ("ub", "i3", 4, 20), ("uc", "i1", 4, 7), ("r4", "i12", 5, 14),
        ("r4", "i2", 3, 8), ("r4", "i11", 4, 11), ("r1", "i4", 4, 16), ("ud", "i9", 4, 2), ("r0", "i9", 3, 6),
        ("ub", "i2", 4, 10),
    ]

    /// (user, item, rank); user r2 has no recommendations.
    static let recommendations: [(String, String, Int)] = [
        ("r0", "i13", 1), ("r0", "i12", 2), ("r0", "i12", 3), ("r0", "i10", 4), ("r0", "i5", 5), ("r0", "i6", 6), ("r0", "i1", 7),
        ("r0", "i10", 8), ("r0", "i8", 9), ("r0", "i99", 10), ("r1", "i14", 1), ("r1", "i10", 2), ("r1", "i7", 3), ("r1", "i11", 4),
        ("r1", "i8", 5), ("r1", "i9", 6), ("r1", "i6", 7), ("r1", "i4", 8), ("r1", "i8", 9), ("r3", "i3", 1), ("r3", "i13", 2),
        ("r3", "i13", 3), ("r3", "i7", 4), ("r3", "i14", 5), ("r3", "i15", 6), ("r3", "i14", 7), ("r4", "i4", 1), ("r4", "i4", 2),
        ("r4", "i1", 3), ("r4", "i13", 4), ("r4", "i14", 5), ("r4", "i1", 6), ("r4", "i2", 7), ("r4", "i2", 8), ("r4", "i1", 9),
        ("r5", "i7", 1), ("r5", "i7", 2), ("r5", "i1", 3), ("r5", "i6", 4), ("r5", "i13", 5), ("r5", "i15", 6), ("r5", "i11", 7),
        ("r5", "i7", 8), ("r5", "i5", 9), ("ua", "i2", 1), ("ua", "i11", 2), ("ua", "i10", 3), ("ua", "i5", 4), ("ua", "i6", 5),
        ("ua", "i1", 6), ("ua", "i12", 7), ("ub", "i3", 1), ("ub", "i2", 2), ("ub", "i12", 3), ("ub", "i3", 4), ("ub", "i1", 5),
        ("ub", "i5", 6), ("ub", "i8", 7), ("ub", "i6", 8), ("ub", "i1", 9), ("uc", "i8", 1), ("uc", "i3", 2), ("uc", "i4", 3),
        ("uc", "i10", 4), ("uc", "i12", 5), ("uc", "i7", 6), ("uc", "i1", 7), ("uc", "i3", 8), ("uc", "i1", 9), ("ud", "i12", 1),
        ("ud", "i10", 2), ("ud", "i8", 3), ("ud", "i13", 4), ("ud", "i13", 5), ("ud", "i2", 6), ("ud", "i9", 7),
    ]

    /// The judge's test.csv with the default fraction 0.2 (train.csv had 33 rows).
    static let test020: [(String, String, Double)] = [
        ("uc", "i1", 7), ("r1", "i10", 17), ("r5", "i13", 29), ("r4", "i1", 26), ("ub", "i6", 50), ("r0", "i1", 29),
        ("r2", "i13", 17),
    ]

    /// The judge's test.csv with `--test-frac 0.34` (train.csv had 30 rows).
    static let test034: [(String, String, Double)] = [
        ("uc", "i1", 7), ("r1", "i10", 17), ("r5", "i1", 28), ("r5", "i13", 29), ("r4", "i2", 25), ("r4", "i1", 26),
        ("ub", "i6", 50), ("r0", "i7", 21), ("r0", "i1", 29), ("r2", "i13", 17),
    ]

    /// (test fraction, K, printed line, full-precision values from `score_recs`).
    static let topKScores: [(fraction: Double, k: Int, line: String, recall: Double, ndcg: Double, hit: Double, coverage: Double)] = [
        (0.2, 3, "system=recs k=3 users=7 recall3=0.2857 ndcg3=0.1616 hit3=0.2857 coverage3=0.8462",
         0.2857142857142857, 0.16156139336735106, 0.2857142857142857, 0.8461538461538461),
        (0.2, 10, "system=recs k=10 users=7 recall10=0.5714 ndcg10=0.2784 hit10=0.5714 coverage10=1.0000",
         0.5714285714285714, 0.27835130269705605, 0.5714285714285714, 1.0),
        (0.34, 5, "system=recs k=5 users=7 recall5=0.5714 ndcg5=0.3383 hit5=0.7143 coverage5=1.0000",
         0.5714285714285714, 0.3383114154325114, 0.7142857142857143, 1.0),
    ]

    /// (label, user, score) rows of the click-through case.
    static let ctrRows: [(Float, Int32, Double)] = [
        (0, 1, 0.604), (0, 4, 0.25), (0, 2, 0.192), (1, 4, 1.0), (0, 5, 0.523), (0, 0, 0.0),
        (0, 2, 0.824), (1, 5, 0.25), (1, 5, 0.5), (0, 0, 0.217), (1, 3, 0.421), (1, 2, 0.904),
        (1, 0, 1.0), (1, 5, 0.965), (0, 0, 0.5), (0, 2, 0.25), (1, 0, 1.0), (1, 0, 0.0),
        (0, 0, 0.378), (0, 2, 0.0), (0, 0, 0.5), (1, 4, 0.5), (1, 2, 0.25), (1, 3, 0.87),
        (0, 5, 0.62), (1, 2, 0.5), (1, 3, 0.0), (1, 3, 0.616), (0, 1, 0.5), (1, 5, 0.25),
    ]

    /// What `ctr_judge.py score` printed, and its full-precision values.
    static let ctrLine = "system=x rows=30 auc=0.6496 gauc=0.6517 logloss=1.6020 calibration=0.899"
    static let ctrAUC = 0.6495535714285714
    static let ctrGAUC = 0.6517361111111111
    static let ctrLogLoss = 1.6019611397859008
    static let ctrCalibration = 0.8990000062499998
}
