"""The deterministic candidate code and the suggester's feature vector."""

from __future__ import annotations

import pytest

from cdt_nlp.features import FEATURE_NAMES, doc_features
from cdt_nlp.rule_code import rule_code
from cdt_nlp.textio import prepare_note

CASES = [
    ("US R parotid performed and read by me: 1 cm hypoechoic nodule. Impression: pleomorphic adenoma.", "D0370"),
    ("US R parotid captured by the sonographer; images sent to the radiologist for interpretation.", "D0386"),
    ("Limited FOV CBCT 5x5 #30 taken and read by me: apical radiolucency.", "D0364"),
    ("CBCT full mandibular arch captured by the assistant; volume sent to OMFR for read.", "D0381"),
    ("Large FOV CBCT of maxilla and mandible, 17 x 13 cm, acquired; interpretation by outside radiologist.", "D0383"),
    ("Bilateral TMJ CBCT series, open and closed, taken and read here: flattening of the L condyle.", "D0368"),
    ("CBCT and intraoral scan fused for implant planning #19.", "D0395"),
    ("Virtual implant simulation at #19 on the existing CBCT volume; plan changed to a 10 mm implant.", "D0393"),
    ("Digital subtraction of the baseline and 12-month PAs of #30: density gain.", "D0394"),
    ("Second opinion on an outside CBCT from Dr. Lee's office: impression nasopalatine duct cyst.", "D0391"),
    ("Sialendoscopy of L Wharton's duct: 3 mm stone seen and removed with a basket.", "D0371"),
    ("Extraction #17 under LA. Pano reviewed pre-op. Sutured. Return 1 week.", "NONE"),
    ("CBCT ordered for next visit to assess the ridge at #19.", "NONE"),
    (
        "Imaging: [ ] Pano [ ] CBCT [x] Ultrasound [ ] Sialography. US L SMG done by me: 4 mm stone. Imp: sialolith.",
        "D0370",
    ),
    (
        "Came in today for the TMJ cone beam series you ordered: two exposures per side captured, sent to OMFR for "
        "interpretation.",
        "D0384",
    ),
    (
        "US R SMG performed and read by me: stone at the hilum. I offered her sialendoscopy with basket retrieval.",
        "D0370",
    ),
    (
        "Sialogram L SMG: Wharton's duct cannulated, contrast injected: filling defect mid-duct. Impression: "
        "radiolucent stone. Ref for sialendoscopic retrieval.",
        "D0310",
    ),
    ("TMJ CBCT series, 4 exposures, captured by the tech and not read here; volumes sent to OMFR.", "D0384"),
    ("Tx sim note, billed as fusion?? Virtual 4.1 x 10 implant placed at #30 on the CBCT; plan confirmed.", "D0393"),
    # outside reads, capture-only statements, fields of view given as sizes or exclusions, plans
    (
        "Consult, missing #9, thin facial plate. Limited CBCT of the premaxilla recommended for next appt; "
        "we'll do the virtual implant plan on that volume.",
        "NONE",
    ),
    (
        "CBCT upper jaw, whole arch - ACQUISITION ONLY. 16 x 10 cm field, 0.25 voxel. Findings: per "
        "radiologist. Volume transmitted to the OMFR for reading.",
        "D0382",
    ),
    (
        "Plan: TMJ CBCT, open and closed, to be taken at next appt to look at the condyles. Splint "
        "impressions taken today.",
        "NONE",
    ),
    (
        "I scanned both TMJs on our cone beam unit, mouth closed and then wide open. He has ached in both "
        "jaws for a year. The right condyle is flattened with an osteophyte; osteoarthritis of the right "
        "joint.",
        "D0368",
    ),
    (
        "TMJ cone beam series done today, closed and maximal opening on each side; DICOM attached and I'll "
        "leave the reading to you as agreed.",
        "D0384",
    ),
    (
        "Read the outside cone beam the pt brought on a USB stick from his last dentist: 4 mm PARL at #14 MB "
        "root. Impression: apical periodontitis #14.",
        "D0391",
    ),
    # someone else reads ("I'm not the one reading it"); a scan only talked about or to be discussed
    (
        "Small-field cone beam of #7-#9 taken today. I'm not the one reading it: the volume went to the oral "
        "radiologist.",
        "D0380",
    ),
    (
        "Bitewings at recall. She may want an implant at #3 one day and I mentioned we'd probably want a 3D scan "
        "at that point.",
        "NONE",
    ),
    (
        "US of the R parotid by Dr. Hollis today; images pushed to radiology for the read. If a stone shows, "
        "Dr. H will discuss sialendoscopy.",
        "D0386",
    ),
    (
        "Sialendoscopy booked today for recurrent swelling. On arrival acute sialadenitis; sialendoscopy not "
        "attempted. Antibiotics, rebook in 4-6 weeks.",
        "NONE",
    ),
    (
        "Clicking of the left ATM for one year. Was realized a CBCT of both ATM, mouth closed and open, analysed "
        "by me: flattening of the left condyle. Conclusion: early degenerative change. Conduct: MRI of the ATM "
        "to see the disc.",
        "D0368",
    ),
    (
        "CBCT of the mandible realized in the clinic of the colleague and sent to us only for the report; we "
        "did not participate in the acquisition. Exam of image: the 38 touches the canal. We conclude for "
        "intimate relation with the nerve.",
        "D0391",
    ),
    (
        "img_type=CBCT; fov=MAXILLA_FULL (16x8); captured_by=DR_T; read_by=DR_T; obs=ridge height 4 mm at #14; "
        "assess=not enough bone for a standard implant, consistent with a low sinus.",
        "D0366",
    ),
    (
        "Contrast CT of the neck, three weeks old, reviewed today; we had no part in its capture. My read: lytic "
        "area distal to #18, 14 x 9 mm. Impression: early osteoradionecrosis.",
        "D0391",
    ),
    (
        "Looked at the sonogram images you took of her right submandibular gland: a 5 mm shadowing focus at "
        "the hilum, in keeping with a stone.",
        "D0391",
    ),
    (
        "CBCT 6x5 cm, #30 only, taken and read by me: two fused conical roots, 3 mm PARL at the apex. Imp: "
        "apical periodontitis #30.",
        "D0364",
    ),
    (
        "Cone beam of the maxilla captured here, full arch, 10 x 10 cm with both sinuses; the lower jaw was "
        "not included. Exported to the referring ENT, who reads it.",
        "D0382",
    ),
    (
        "CBCT R TMJ, 8x8, single exposure with the mouth closed (could not open). Read by me: undisplaced "
        "fracture of the condylar neck.",
        "D0364",
    ),
    (
        "Hospital MRI of the neck last month: only the written report came to us, the images were not sent. "
        "Report says no mass. Plan: recheck in 6 wk.",
        "NONE",
    ),
    # one side's joint in one scan is a limited field, not a TMJ series of two or more exposures
    (
        "I obtained a cone beam scan of her left TMJ today. My reading: "
        "osteophyte on the anterior condyle, consistent with osteoarthritis.",
        "D0364",
    ),
    ("L TMJ CBCT today, mouth closed and open, read by me: condyle does not translate on opening.", "D0368"),
    # "performed by Dr. R" is this visit's study when the sentence says so; without it, an earlier one
    ("Swelling x2wks.US L SMG performed by Dr. R today; 6mm stone in Wharton duct.IMP: sialolithiasis", "D0370"),
    ("US L SMG performed by Dr. R at the hospital showed a 6 mm stone. Plan: sialendoscopy consult.", "NONE"),
    # an ultrasonic tip is an instrument; an event "last week" does not date the scan taken today
    (
        "RCT #19: took a limited CBCT chairside, read by me: separate DL canal. Impression: four-canal molar. "
        "Orifice uncovered w/ US tip.",
        "D0364",
    ),
    ("Because of last week's fall, a limited CBCT of the L condyle was taken and read by me: no fracture.", "D0364"),
    # imaging named only to say it cannot help, arranged for later, or not repeated
    ("Closed lock R TMJ; neither the pano nor a CBCT shows the disc, so I have arranged an MRI. Soft diet.", "NONE"),
    ("Parotid lump; I have arranged an ultrasound-guided FNA with hospital radiology next week.", "NONE"),
    ("Post-op #30 implant: healing well. CBCT from the planning visit not repeated; no radiographs today.", "NONE"),
    (
        "Closed lock R TMJ, opening 28 mm. We need an MRI to see the disc because x-rays won't show soft "
        "tissue. Soft diet; follow up after the MRI.",
        "NONE",
    ),
    # a study in text copied forward from an earlier note is not this visit's
    (
        "PREVIOUS NOTE 2/10: Limited CBCT #19 captured & interpreted: 5 mm lesion M root. Plan: RCT. [copied]\n"
        "3/3 TODAY: post-op check after RCT #19. No imaging today. Plan: crown prep.",
        "NONE",
    ),
    # modality names as speech recognition spells them; a referral for a procedure is not the procedure
    ("pt seen for a limited see bee see tee of tooth number thirty taken and read by me period no fracture", "D0364"),
    (
        "ultra sound of the right paroted done today and read it myself period impression stone period "
        "plan referral for sial endoscopy",
        "D0370",
    ),
    # a radiologist's read of a study captured at a named outside facility, or marked read-only
    (
        "CBCT TMJ series, READ ONLY. Captured at Lakeshore Dental Sleep Medicine 3/2; volumes received 3/3.\n"
        "Right condyle flattened with a small osteophyte. Impression: early osteoarthritis R TMJ.",
        "D0391",
    ),
    (
        "MRI TMJ interpretation. Images acquired at St. Brigid Imaging Center (3T). Left disc anterior without "
        "reduction. Impression: anterior disc displacement without reduction, left TMJ.",
        "D0391",
    ),
    (
        "Thanks for uploading the limited CBCT your office took last week. My read: untreated MB2 on #14 "
        "with a 2 mm apical lucency.",
        "D0391",
    ),
    (
        "OUTSIDE SIALOGRAM, L parotid, done at County Hospital radiology; films forwarded for our opinion. "
        "Impression: sialectasis, no stone. Suitability for sialendoscopic dilation to be discussed with ENT.",
        "D0391",
    ),
    # "tomography" written for a cone beam scan; refused imaging is not done
    (
        "Pain lower right 3 weeks. I made a tomography with small field of tooth 46, it is visible a fracture "
        "line in the mesial root. Conclusion: vertical root fracture.",
        "D0364",
    ),
    ("Wants implants both jaws. Patient refused the tomography today, afraid of radiation. Control 1 month.", "NONE"),
    # payer letters ask for a service; a hospital study done for another team is theirs
    (
        "PRE-AUTHORIZATION REQUEST. Requested service: cone beam CT of the maxilla for implant planning; the "
        "pano cannot show ridge width. No scan has been taken yet.",
        "NONE",
    ),
    (
        "Letter of medical necessity. I am writing to request coverage for an MRI of both joints: locking for "
        "four months, opening 25 mm. Until the MRI is done she will wear her splint.",
        "NONE",
    ),
    (
        "Inpatient consult. MRI neck (4/2), done for the ENT team and read by neuroradiology: 1 cm enhancing "
        "lesion of the tongue. Incisional biopsy today, 2 specimens to pathology.",
        "NONE",
    ),
    (
        "County Hospital radiology did an ultrasound in March: dilated Wharton's duct, no stone seen. Clinical "
        "exam today only; we request authorization for sialendoscopy.",
        "NONE",
    ),
    # a modality named only as the road not taken; a read promised by a colleague far down the sentence
    (
        "We picked scoping over sialography so a stone could come out the same day. Sialendoscopy of the R "
        "Stensen's duct: 3 mm mobile stone, removed. Impression: sialolithiasis.",
        "D0371",
    ),
    (
        "Limited CBCT #8 captured under sedation. Volume exported to Dr. Ng, a periodontist at another practice "
        "across town, who will read it and advise on the tooth.",
        "D0380",
    ),
    # a scan stopped before a volume was taken documents no service; one retaken the same visit does
    (
        "Limited cone beam of #3 for a suspected fistula source. Child started crying and moving, so the "
        "scan was stopped part way; no images saved. Mom will bring her back Friday.",
        "NONE",
    ),
    (
        "MRI both TMJs ordered by Dr. P. Pt claustrophobic in the bore, could not tolerate; rebook with sedation.",
        "NONE",
    ),
    (
        "Focused CBCT #14 captured. Motion on the first run so acquisition aborted; rescanned at once with the "
        "head strap, read by me: no fracture line seen.",
        "D0364",
    ),
    # "aborted" about something else leaves the scan alone
    ("Pre-op CBCT taken and read by me: roots of #32 touch the canal. Extraction aborted for bleeding.", "D0364"),
    (
        "we did an ultra sound of the left paroted gland today I performed it and read it myself period "
        "findings 6 millimeter echogenic focus period impressions colon obstructing sialolith period",
        "D0370",
    ),
    # another study's limits in a clause before it do not make the service an order
    (
        "The change is in the disc, which neither plain films nor cone beam can show, I imaged both joints with "
        "MRI in our unit today and have read it myself: anterior disc displacement without reduction on the right.",
        "D0369",
    ),
    # "3D" and scanner names for cone beam CT in an office's shorthand
    ("PA can't show the canal -> CS 8100 3D 5x5 vol #19 site, taken & read DO: 14 mm crest to canal.", "D0364"),
    ("Pano exaggerates bone ht so took upper arch 3D (10x10, whole max), cap/read: #3 site 3.5 mm.", "D0366"),
    ("Implant consult only; 3D printed guide ordered from the lab, pano reviewed.", "NONE"),
    # today's entry after a copied-forward block opens with markup
    (
        "**Carried forward from 2/2 visit** S: wants implants, hx ext #3.\n**Today 2/20:** Full arch maxillary "
        "CBCT captured, mandible excluded. Not read here - volume sent to OMFR for report.",
        "D0382",
    ),
    # an estimate request: every study and merge it lists is still to come; a crown "fused to metal"
    (
        "Benefits estimate - services listed:\n1. Cone beam CT, lower jaw\n2. Merging the CBCT volume with the "
        "intraoral scan for guide design\nMr. Pike lost #29 and #30 years ago and wants fixed teeth. None of the "
        "above has been done yet; we book once the estimate returns.",
        "NONE",
    ),
    (
        "Items for the estimate: limited CBCT #14 region, then co-registration with the surface scan. Nothing "
        "has been taken yet for this plan.",
        "NONE",
    ),
    ("Crown #30 is porcelain-fused-to-metal with an open distal margin; BWX taken, recurrent caries.", "NONE"),
    # two studies in one visit: the provider read one, the other went out for its read
    (
        "CBCT of both TMJs taken and read by me: condyles normal. MRI of both joints acquired in our suite the "
        "same afternoon, PD and T2. Sent to the radiologist for the report; I have not read it.",
        "D0385",
    ),
    # someone else's scan, opened for orientation during surgery, neither captured nor read here
    (
        "Apicoectomy #8. Pre-op CBCT from Lakeside Imaging (read by their radiologist, report in chart) opened "
        "chairside for orientation only. Flap raised, 3 mm resection, MTA retrofill.",
        "NONE",
    ),
    # an own read said as "described by me" or "I signed the report"
    (
        "Lump R cheek. Ultrasound of the R parotid done in our unit, described by me, then sent on to radiology as "
        "well for a second read. Hypoechoic 12 mm lesion.",
        "D0370",
    ),
    (
        "Our unit runs the scanner and reads it; I signed the report. MRI both TMJs: L disc anterior, no "
        "reduction. Arthrocentesis next.",
        "D0369",
    ),
    # asked for without an article, cancelled by name, "cxl'd"; a hospital's scan we were asked to report;
    # a simulation in shorthand
    ("Requested limited cone beam at Eastgate to see whether a root is retained. Transport booked 2/10.", "NONE"),
    (
        "Booked today for the small-field CBCT of #6. At check-in she said she is pregnant; Dr Ruiz cancelled "
        "the scan. Cleaning instead. Rebook CBCT postpartum.",
        "NONE",
    ),
    ("#17 pericoronitis. CBCT (ltd, LR) cxl'd - pt pregnant. Defer ext.", "NONE"),
    (
        "The hospital unit did a cone beam on their machine on 3/3, then asked us to report it. Retained root #29, "
        "6 mm, lucent rim at the apex. Opinion: root remnant with an apical lesion.",
        "D0391",
    ),
    (
        "Freya 13, upper crowding, CBCT read 2/1. Ran tx sim on that vol: expansion pushes #6 roots through the "
        "labial plate; with premolar extractions roots stay in bone. Plan extractions.",
        "D0393",
    ),
    # contrast put into a joint space, without the word "arthrogram"
    (
        "Jaw catching for a year. MRI not possible - pacemaker. Under fluoroscopy 1.0 ml iodinated contrast into "
        "the lower joint space, then the upper; disc anterior closed, reduces late, perforated.",
        "D0320",
    ),
    # today's scan called the baseline, not compared with one
    (
        "Pre-augmentation baseline scan. Baseline CBCT, full mandibular arch, per department protocol. Ridge "
        "width 3.8 mm at #19, read by me. Plan: GBR.",
        "D0365",
    ),
    # a merge said without the usual words
    (
        "Lower right implant workup. The cone beam from last week shows bone but not the gums, so today I took an "
        "intraoral scan and merged the two, lining them up on the premolars. The combined picture put the ideal "
        "crown 2 mm lingual to the ridge. Plan: graft first.",
        "D0395",
    ),
    # a front-desk account: the scan named by the jaw it covers, the comparison as a verb
    (
        "Here for the whole upper-jaw scan Dr. Lim asked for. She went over it with him: 6 mm of bone under the "
        "left sinus, the right side thinner. Her take: enough bone on the left for an implant, the right needs a lift.",
        "D0366",
    ),
    (
        "Six months after the graft. New scan done today and Dr. Lim had the software subtract it from the March "
        "one: about 1 mm lost at the crest, the rest held. Per Dr: ready for the implant.",
        "D0394",
    ),
]


@pytest.mark.parametrize(("note", "code"), CASES, ids=[c[1] + "-" + str(i) for i, c in enumerate(CASES)])
def test_rule_code_case(checker, note, code):
    doc = checker.nlp(prepare_note(note)[1])  # the text every checking path reads
    items = checker.item_results(doc, next(iter(checker.catalog)))
    assert rule_code(doc._.cdt_facts, items["interpretation"].present) == code


@pytest.mark.parametrize("note", [CASES[0][0]])
def test_rule_code_features_are_complete_and_numeric(checker, note):
    doc = checker.nlp(note)
    feats = doc_features(doc, checker.item_results(doc, next(iter(checker.catalog))))
    assert list(feats) == list(FEATURE_NAMES)
    assert all(isinstance(v, float) for v in feats.values())
    assert feats["performed_ultrasound"] == 1.0 and feats["rule_D0370"] == 1.0
    assert sum(feats[n] for n in FEATURE_NAMES if n.startswith("rule_")) == 1.0


#: (note, the service fact it must set)
FACT_CASES = [
    # a scan another office captured, said with a pronoun, or a volume that came through a portal
    ("It was taken at Lakeside Dental last month. I went through the whole volume for the report.", "outside_images"),
    ("The DICOM came to us via the upload portal; I have never seen the patient.", "outside_images"),
    # images taken on a date elsewhere are outside images
    ("Pre-op CBCT reviewed (taken 1/3 at outside office). Flap raised, #17 delivered.", "outside_images"),
    # another office named as the one that took the images, in passing or in a field
    (
        "Limited CBCT at Lakeview Imaging last week (their capture, no read came with it). Reviewed the volume today.",
        "outside_images",
    ),
    (
        "Ordering/capturing office: Bayside Orthodontics - volume acquired 03/02 on their i-CAT, 16 x 13 cm.",
        "outside_images",
    ),
    (
        "Pt 67F, numb lip. Limited CBCT of the L mandible (their tech, their machine). Volume reviewed in full.",
        "outside_images",
    ),
    ("The treating office captured the CBCT and forwarded the DICOM to me for a written report.", "outside_images"),
    ("Pano done on 2/14/25 at Smile Dental, reviewed today.", "outside_images"),
    # only a report was seen, not the images
    ("I read the CBCT report from Bayside Imaging; I did not look at the volume itself.", "images_unavailable"),
    ("Report received from the imaging center; the DICOM wasn't in the packet.", "images_unavailable"),
    ("Her scan came on a disc with the radiologist's report. I did not re-read the scan.", "images_unavailable"),
    ("My advice below relies on the report from Harbor Radiology.", "images_unavailable"),
    # awaiting the read, or sent to someone for it, means read elsewhere
    ("US R parotid obtained, 14 images stored. F/u: await radiology read.", "read_elsewhere"),
    ("Volume sent to Dr. Esposito and to Dr. Lang (outside OMR) for the radiology read.", "read_elsewhere"),
    # a reader who had no role in acquisition, a scan someone else's dentist took, a disc brought in
    ("Limited CBCT submitted for a read; this reader had no role in acquisition.", "outside_images"),
    ("I looked at the cone beam scan your former dentist took last spring.", "outside_images"),
    ("Thank you for bringing in the disc with your scan.", "outside_images"),
    ("Pt brought the post-extraction CBCT on a USB stick.", "outside_images"),
    ("I read the volume; I was not involved in capturing it.", "outside_images"),
    # a reader who says the data came to them
    ("I got the volume by upload last night and issued a signed report this morning.", "outside_images"),
    # an examiner reading a volume the treating dentist captured
    ("Expert review. The CBCT was captured by the treating periodontist; I took no images myself.", "outside_images"),
    # a worklist entry: acquired at the referring site, read by a reader not tied to the capture
    (
        "STUDY CBCT ltd mand R (acquired at referring site 3/2). READER remote OMR, not associated with capture.",
        "outside_images",
    ),
    # a consultant who took no new scan of their own
    ("We did not take a new scan; reviewed the referrer's limited volume on our viewer.", "outside_images"),
    # an acquisition form's "sent out" to the radiologist
    ("Limited CBCT #3 acquired. Interpretation: sent out - OMF radiology.", "read_elsewhere"),
    # a contract reader who had no part in ordering or capturing
    ("Contract reader only: I had no role in ordering or capturing these images.", "outside_images"),
    # the reader says they went through the volumes themselves
    ("Both joints scanned at 9; I went through the volumes myself before lunch.", "own_read"),
    # another office's staff did the capture; the images came by upload or were dropped off
    ("Small-field CBCT of the UR, exposed last week by their hygienist; read here today.", "outside_images"),
    ("I had no role in capture or in the patient's care.", "outside_images"),
    ("The cone beam arrived by courier from Bayside on Monday; report below.", "outside_images"),
    ("Her son dropped off a USB stick from the implant centre.", "outside_images"),
    ("Reviewed the 3D scan that the other practice took in May.", "outside_images"),
    # "Reading it:" opens the practitioner's own read
    ("Full mandibular arch CBCT captured today, 15x6 field.Reading it: #30 site too narrow, graft first.", "own_read"),
]


@pytest.mark.parametrize(("note", "fact"), FACT_CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(FACT_CASES)])
def test_service_fact_case(checker, note, fact):
    assert getattr(checker.nlp(note)._.cdt_facts, fact) is True


@pytest.mark.parametrize(
    "note",
    [
        # an earlier film dated in chart shorthand or in words
        "Hx: swelling L floor of mouth. OPG 3 wks ago read as negative.",
        "Hx: swelling L floor of mouth. Panoramic film two weeks ago was negative.",
        # what a film cannot show is a reason for the scan, not a film taken today
        "Reason for the scan: a panoramic film can't show the soft tissue of the gland.",
    ],
)
def test_a_film_dated_earlier_or_named_for_its_limits_is_not_taken_today(checker, note):
    assert "panoramic" not in checker.nlp(note)._.cdt_facts.performed


def test_a_dental_panoramic_tomogram_is_a_panoramic_film(checker):
    assert "panoramic" in checker.nlp("DPT taken today: both lower eights impacted.")._.cdt_facts.performed


@pytest.mark.parametrize(
    ("note", "modality"),
    [
        # taken by the practice's own staff, not at or by another office
        ("Limited CBCT taken by the assistant at 9:40, sent to the endodontist for the read.", "cbct"),
        # a form's "Imaging performed:" label, not an imaging centre that performed an earlier study
        ("Ortho records.\nImaging performed: CBCT of both jaws, captured and read by Dr. Ruiz.", "cbct"),
        # an arthrogram described by what was done, without the word
        (
            "Needle placed in the upper joint space of the right TMJ under fluoro and 0.8 mL contrast injected; "
            "films at closed and open positions.",
            "arthrography",
        ),
        (
            "Under fluoroscopy I injected iodinated contrast into the left inferior joint space and took radiographs.",
            "arthrography",
        ),
        # a sialogram described by what was done, without the word
        (
            "L Wharton's duct papilla cannulated with a 24G catheter, 0.8 mL water-soluble contrast, "
            "occlusal + lateral films, 5 min emptying film.",
            "sialography",
        ),
        (
            "Under good light, iodinated contrast was instilled into the right Stensen's duct and films were taken.",
            "sialography",
        ),
        # a cone beam named only as "3D" of a jaw
        ("3D lower (8x9, whole mand) taken + read today. Ht 17-21 mm anteriorly, canal 9 mm below the crest.", "cbct"),
        # written in Spanish
        ("Se tomó tomografía de haz cónico del maxilar superior completo para planear implantes.", "cbct"),
        ("Ultrasonido de la glándula submandibular izquierda hecho hoy en el consultorio.", "ultrasound"),
        ("Resonancia magnética de ATM bilateral realizada hoy, boca abierta y cerrada.", "mri"),
        # written in French
        ("TDM à faisceau conique du maxillaire complet réalisée aujourd'hui pour planifier les implants.", "cbct"),
        ("Échographie de la parotide droite faite au cabinet: deux ganglions réactifs.", "ultrasound"),
        ("IRM des deux ATM réalisée ce matin, bouche ouverte et fermée.", "mri"),
        # abbreviations of clinicians trained in German: MRT for MRI, DVT (digital volume tomography) for CBCT
        ("MRT of both TMJs with open and closed mouth was made today and evaluated by me.", "mri"),
        ("DVT regio 46-47 made today and evaluated by me: lesion 4 mm from the canal.", "cbct"),
        # ... also when the size of the volume follows the abbreviation
        ("Made a DVT small volume of 26 to 27 today, evaluated by myself.", "cbct"),
        ("DVT 8x5 of the upper left taken here this morning.", "cbct"),
        # written in German: "DVT" with a German word after or before it
        ("DVT OK+UK (großes Volumen, beide Kiefer) angefertigt, da Implantate geplant sind.", "cbct"),
        ("Pat. Weber, 28 J. Heute aufgenommen; im DVT zeigt sich eine Aufhellung apikal 46.", "cbct"),
        # Spanish and French names of the studies
        ("TC de haz cónico de todo el maxilar superior, lo informo yo mismo.", "cbct"),
        ("Se realiza RM de ambas ATM en nuestra unidad, boca cerrada y abierta.", "mri"),
        ("Serie tomográfica convencional en la zona 35-37, cuatro cortes de 2 mm.", "tomography"),
        # a cone beam named only by the size of its volume
        ("Took a small-volume scan of the lower right before deciding on retreatment.", "cbct"),
        # written in Portuguese
        ("Tomografia computadorizada de feixe cônico da maxila realizada hoje na clínica.", "cbct"),
        ("TCFC FOV 8x5 da região 36-37 adquirida e laudada por mim.", "cbct"),
        ("Ressonância magnética das ATMs feita em boca fechada e aberta.", "mri"),
        ("USG da parótida direita realizada no consultório, transdutor linear.", "ultrasound"),
    ],
)
def test_a_service_described_without_its_usual_name_is_performed(checker, note, modality):
    assert modality in checker.nlp(note)._.cdt_facts.performed


@pytest.mark.parametrize(
    ("note", "ordered", "done"),
    [
        # a referral that names the specialist before the service
        (
            "US of the R parotid by me: 4 mm stone at the hilum, duct dilated. "
            "Referred ENT (Dr. Lindqvist) for sialendoscopic stone removal.",
            "sialoendoscopy",
            "ultrasound",
        ),
        # a study still needed to confirm
        (
            "Bilateral TMJ CBCT by me: R condyle flattened with an anterior osteophyte. "
            "Dx: R TMJ osteoarthritis, maybe also disc displacement (need MRI to confirm disc).",
            "mri",
            "cbct",
        ),
        # shorthand: a referral with the service right after "refer"
        (
            "US R SMG by me: stone 4 mm distal duct. warm compresses, refer sialendo to ENT",
            "sialoendoscopy",
            "ultrasound",
        ),
        # the service named before the word "referral" or "consult"
        (
            "US R parotid by me: 5 mm stone at the hilum. "
            "Hydration and massage; discuss sialendoscopy referral at the review.",
            "sialoendoscopy",
            "ultrasound",
        ),
        # a referral letter thanking the specialist for the study it asks for
        (
            "Dear Dr Pham, thank you for seeing Lachlan for a small volume CBCT of the lower right. "
            "On the OPG I took on 10/09 the 48 roots overlie the canal.",
            "cbct",
            "panoramic",
        ),
        # a study the note says it needs or requests, without an article
        (
            "PA #9 taken: buccal plate status unknown from PA; need CBCT of ant maxilla before we plan placement.",
            "cbct",
            "intraoral_film",
        ),
        (
            "Pano today unremarkable. I am requesting MRI of both TMJs, closed and open mouth, to confirm the disc.",
            "mri",
            "panoramic",
        ),
        # an e-mail subject naming the request, and a scan moved to another day
        (
            "Subject: Sialogram request - R parotid. US by me today: duct dilated 3 mm, no stone.",
            "sialography",
            "ultrasound",
        ),
        (
            "Pano taken today for the #9 site. Front desk: pt moved CBCT to 7/24 (work).",
            "cbct",
            "panoramic",
        ),
        # a plan that was a study, and asking another doctor about one
        (
            "Bitewings taken. The plan was a portable ultrasound of the L submandibular area; "
            "we'll ask his physician about an ultrasound at the hospital.",
            "ultrasound",
            "intraoral_film",
        ),
        # wanted, asked for, referred for, booked for a day, or awaited before a review
        (
            "Pano today: lucency by #17 roots. I wanted a CBCT of both jaws to see the canals first.",
            "cbct",
            "panoramic",
        ),
        ("PA #3 taken today. I have asked for a limited cone beam scan of the upper right.", "cbct", "intraoral_film"),
        (
            "PA #30 taken, lesion at the apex. Ref OS for CBCT (full arch) before ext vs RCT decision.",
            "cbct",
            "intraoral_film",
        ),
        ("Pano today shows UR3 impacted. Appt: CBCT limited FOV UR3 09:30 12/06.", "cbct", "panoramic"),
        ("Bitewings today. Swelling L SMG; amox started, US Tues, call if it spreads.", "ultrasound", "intraoral_film"),
        ("Pano today for the TMJ. See after MRI, ~3 wks.", "mri", "panoramic"),
    ],
)
def test_a_study_only_asked_for_is_ordered_not_performed(checker, note, ordered, done):
    facts = checker.nlp(note)._.cdt_facts
    assert ordered not in facts.performed and done in facts.performed
    assert ordered in facts.ordered


def test_a_refusal_of_another_study_leaves_this_one_done(checker):
    note = "Transcranial TMJ films, open and closed, taken here because she declined CBCT."
    facts = checker.nlp(note)._.cdt_facts
    assert "tmj_radiograph" in facts.performed
    # refusing the study itself still means it was not done
    refused = checker.nlp("Sialography of the right parotid to look for strictures, but she declined it.")
    assert "sialography" not in refused._.cdt_facts.performed


@pytest.mark.parametrize(
    "note",
    [
        "Limited CBCT of the lower left captured here for Dr. Moss (Lakeside Endo), who is reading it.",
        "Bilateral TMJ CBCT captured today and sent on the portal. No read performed by this office.",
        "CBCT ltd LR captd; no in-house rd, vol → OMR for rpt.",
    ],
)
def test_a_read_left_to_someone_else_is_read_elsewhere(checker, note):
    assert checker.nlp(note)._.cdt_facts.read_elsewhere


def test_irm_the_filling_material_is_not_an_mri(checker):
    note = "#30 pulpotomy, IRM placed as the temporary filling. Pano today: no periapical lesion."
    assert "mri" not in checker.nlp(note)._.cdt_facts.performed


@pytest.mark.parametrize(
    ("note", "performed"),
    [
        # a study used as a label whose answer says it was not done, further on than usual
        ("Pano taken. CBCT: talked it over with the family, not taken for now.", set()),
        ("MRI: offered on the day, patient refused.", set()),
        # a label whose answer says it was done, then something else is "not needed"
        ("CBCT: taken today, read by me, not needed again before surgery.", {"cbct"}),
        # a study named as what a bill or claim lists is no study done
        ('My EOB says I had "sialography". I never had any dye put in the duct.', set()),
        ("Reviewer's question: the claim lists sialography, but was any contrast injected?", set()),
    ],
)
def test_a_study_label_answered_not_done_is_not_performed(checker, note, performed):
    assert checker.nlp(note)._.cdt_facts.performed - {"panoramic"} == performed


@pytest.mark.parametrize(
    ("note", "study"),
    [
        # the hygienist ("DH") who took it is on this team, not another office
        ("R parotid ultrasound taken by DH Okafor, 14 images stored.", "ultrasound"),
        # a Schüller view spelled with its umlaut, and one TMJ radiograph
        ("Schüller views both joints, closed and open.", "tmj_radiograph"),
        ("Left TMJ radiograph, closed mouth: condyle flattened.", "tmj_radiograph"),
    ],
)
def test_studies_taken_here_in_other_words(checker, note, study):
    assert study in checker.nlp(note)._.cdt_facts.performed


def test_a_study_not_done_is_said_after_the_site_it_names(checker):
    note = "Ultrasound of her left parotid was not done: she cancelled twice. Will call her this week."
    assert "ultrasound" not in checker.nlp(note)._.cdt_facts.performed


def test_a_treatment_coordinator_is_not_a_ct(checker):
    note = "TC note 03/19: went over the fee for the implant; pano reviewed with the patient."
    assert "ct" not in checker.nlp(note)._.cdt_facts.performed


def test_a_deep_vein_thrombosis_is_not_a_cone_beam(checker):
    for note in (
        "PMH: DVT 2019, on apixaban. Pano today: caries #30, no periapical lesion.",
        "Hx: DVT 3 years ago, on warfarin, INR 2.4 today. Bitewings: no new caries.",
        "Hx of a DVT in 2021, on rivaroxaban. PA #19: widened PDL, no lesion.",
    ):
        assert "cbct" not in checker.nlp(note)._.cdt_facts.performed


def test_contrast_in_a_joint_space_on_mri_or_a_lavage_is_not_an_arthrogram(checker):
    for note in (
        "Arthrocentesis of the left TMJ: needles in the upper joint space, lavage with 200 mL saline.",
        "MRI of both TMJs: effusion in the superior joint space on the left, disc displaced without reduction.",
    ):
        assert "arthrography" not in checker.nlp(note)._.cdt_facts.performed


def test_a_modality_off_the_table_is_not_performed(checker):
    note = (
        "She has a pacemaker, so MRI was off the table, and I needed to see the disc. Left TMJ arthrogram by me: "
        "contrast injected into the lower joint space under fluoroscopy, disc anterior on opening."
    )
    assert checker.nlp(note)._.cdt_facts.performed == {"arthrography"}


def test_a_cannulated_duct_without_contrast_is_not_a_sialogram(checker):
    note = "R Stensen's papilla dilated and cannulated; 1.1 mm scope advanced to the hilum, no stone seen."
    assert "sialography" not in checker.nlp(note)._.cdt_facts.performed


def test_a_scan_being_cancelled_is_not_performed(checker):
    for note in (
        "Front 9/5: pt called, cancelling today's CBCT, car trouble. Pano from last year on file.",
        "TUES 9:30 Mrs Alvarez CBCT #3 area -- CXL",
    ):
        assert "cbct" not in checker.nlp(note)._.cdt_facts.performed


def test_a_scan_the_patient_declined_is_not_performed(checker):
    note = "Endo #19, pain x 3 days. Limited CBCT to r/o a second mesial canal - pt declined, cost."
    facts = checker.nlp(note)._.cdt_facts
    assert "cbct" not in facts.performed
    assert "cbct" in facts.ordered  # proposed: its reason still counts as a rationale


@pytest.mark.parametrize(
    ("note", "field"),
    [
        # chart shorthand for a full-arch field
        ("implant eval #19 + #30 -> full mand cbct captured today.", "mandible"),
        ("edentulous upper, full max scan taken for the denture-guided plan.", "maxilla"),
        # the arch named after the study, as a chat message or a quick order writes it
        ("Dr. K: upper CBCT pls, full max. DA: done, volume in the viewer.", "maxilla"),
        ("Lower cone beam on the unit now, full mand for the overdenture case.", "mandible"),
        # a field collimated to one arch is that arch, not a limited field
        ("CBCT, FOV collimated to maxilla/midface (mandible excluded), 0.25 mm voxel.", "maxilla"),
        ("Cone beam volume restricted to the lower jaw for the overdenture plan.", "mandible"),
        # both joints in plain words, or a closed and a maximum-opening volume
        ("Cone beam series of both jaw joints taken today.", "tmj"),
        ("Cone beam of the left joint taken closed and at maximum opening.", "tmj"),
    ],
)
def test_field_of_view_in_chart_shorthand(checker, note, field):
    assert field in checker.nlp(note)._.cdt_facts.fields_of_view


@pytest.mark.parametrize(
    "note",
    [
        'Dear Mr. Ames, we placed a "virtual" implant in your 3D scan to measure the gap to the nerve.',
        "Using last month's cone beam scan, we planned the implant on the computer before surgery.",
    ],
)
def test_implant_planning_in_plain_words_is_a_simulation(checker, note):
    assert "simulation" in checker.nlp(note)._.cdt_facts.postprocessing


def test_the_reason_for_a_read_is_not_a_read_sent_elsewhere(checker):
    note = "Reason for the read: numb lip since implant #19. I read the CBCT: apex in the canal."
    facts = checker.nlp(note)._.cdt_facts
    assert not facts.read_elsewhere
    assert checker.nlp("CBCT #19 captured; sent for the read.")._.cdt_facts.read_elsewhere


@pytest.mark.parametrize(
    "note",
    [
        "Ameloblastoma follow-up. Seen on an outside CT back in 2020 (City Hospital). Limited CBCT of the "
        "left mandible captured today and read by me: no recurrence at the resection margin.",
        "Comparison: our MRI 2024 and the outside ultrasound of 05/2023. Bilateral TMJ MRI acquired today "
        "and read here: left disc displaced without reduction.",
    ],
)
def test_an_earlier_outside_study_of_another_kind_is_a_comparison_not_a_read_of_outside_images(checker, note):
    facts = checker.nlp(note)._.cdt_facts
    assert not facts.outside_images
    assert rule_code(facts, True, checker.catalog) != "D0391"


def test_outside_images_read_today_stay_outside_images(checker):
    note = "Pt brought an outside CBCT taken last month at Dr. Lee's office. I read the volume: PARL at #19."
    facts = checker.nlp(note)._.cdt_facts
    assert facts.outside_images
    assert rule_code(facts, True, checker.catalog) == "D0391"


def test_a_scan_taken_after_failed_attempts_is_performed(checker):
    note = (
        "Indication for GA: could not hold still for the CBCT awake (two attempts aborted, motion).\n"
        "09:20 CBCT of both jaws captured under GA, one exposure.\n"
        "Report: three supernumerary teeth palatal to #8 and #9."
    )
    facts = checker.nlp(note)._.cdt_facts
    assert "cbct" in facts.performed
    aborted = "CBCT of both jaws attempted twice awake; scan aborted, patient could not keep still. Rebook under GA."
    assert "cbct" not in checker.nlp(aborted)._.cdt_facts.performed


def test_a_stopped_study_that_names_itself_leaves_the_others_done(checker):
    note = (
        "Procedure: right TMJ arthrogram, lower and upper joint spaces, spot films closed and open.\n"
        "History: MRI tried in May - aborted, she panicked in the bore.\n"
        "Findings: contrast passes into the upper space; disc anterior at closed mouth.\n"
        "Impression: perforated disc, non-reducing."
    )
    facts = checker.nlp(note)._.cdt_facts
    assert "arthrography" in facts.performed and "mri" not in facts.performed
    assert rule_code(facts, True, checker.catalog) == "D0320"
    # a stop that names no study still stops every study of the visit
    unnamed = "Limited CBCT #30 set up; patient moved on both runs, scan aborted. Rebook with a chin rest."
    assert "cbct" not in checker.nlp(unnamed)._.cdt_facts.performed


def test_a_report_on_a_plain_film_documents_no_catalog_service(checker):
    note = (
        "RADIOLOGY REPORT - PANORAMIC RADIOGRAPH, acquired and read at this office.\n"
        "Findings: #1 and #16 absent; #17 horizontally impacted. No osseous lesions.\n"
        "Impression: impacted #17.\n"
        "Recommendation: a limited CBCT before removal of #17."
    )
    result = checker.check(note, code="D0364")
    assert not result.items["findings"].present and not result.items["interpretation"].present
    assert rule_code(checker.nlp(note)._.cdt_facts, False, checker.catalog) == "NONE"


def test_an_uploaded_dicom_from_another_site_is_outside_images(checker):
    note = "E-consult. Image reviewed: pano taken at Lakeside 5/14 (DICOM uploaded). Impression: Stafne defect."
    assert checker.nlp(note)._.cdt_facts.outside_images
    assert not checker.nlp("CBCT captured here; DICOM uploaded to PACS.")._.cdt_facts.outside_images


@pytest.mark.parametrize(
    ("note", "modality"),
    [
        (
            "CBCT TMJ series captured and read here: R condyle flattened. Splint now; MRI only if disc status "
            "would change management.",
            "mri",
        ),
        (
            "I wished to take transcranial films of the right joint, but the machine is away for repair.",
            "tmj_radiograph",
        ),
        ("L parotid swelling. The ultrasound was postponed: probe fault. Warm compresses meanwhile.", "ultrasound"),
        # a form's question answered no on its line
        (
            "SOFT TISSUE ORDER FORM\nSymptoms? Y - swelling under L jaw x 10 days\nUS performed today? N - unit booked",
            "ultrasound",
        ),
        ("ENDO FORM\nC/O? Y - #30 cold pain 2 wk\nCBCT taken? No - pt 9 wk pregnant, deferred", "cbct"),
    ],
)
def test_a_study_only_considered_wished_for_postponed_or_answered_no_is_not_performed(checker, note, modality):
    assert modality not in checker.nlp(note)._.cdt_facts.performed


def test_a_portuguese_read_of_another_services_scan_is_outside_images(checker):
    note = (
        "Laudo de exame externo: TCFC da mandíbula adquirida em outro serviço, arquivos DICOM recebidos. "
        "Não houve aquisição neste serviço. Achados: lesão hipodensa de 9 mm na região do 45."
    )
    assert checker.nlp(note)._.cdt_facts.outside_images


def test_a_periapical_finding_is_not_a_periapical_film(checker):
    note = "Limited CBCT #30 taken and read here: periapical radiolucency 5 mm on the distal root."
    assert "intraoral_film" not in checker.nlp(note)._.cdt_facts.performed


def test_a_procedure_done_elsewhere_is_not_outside_images(checker):
    note = (
        "Numb R lower lip since extraction of #30 three weeks ago (performed elsewhere). Full mandible CBCT "
        "acquired and interpreted here: the canal roof is broken at the #30 socket."
    )
    facts = checker.nlp(note)._.cdt_facts
    assert not facts.outside_images
    assert rule_code(facts, True, checker.catalog) != "D0391"
    elsewhere = "Limited CBCT acquisition: performed at the referring office; DICOM uploaded to our portal."
    assert checker.nlp(elsewhere)._.cdt_facts.outside_images


def test_ultrasound_used_for_needle_guidance_only_is_capture_only(checker):
    note = (
        "US-guided aspiration of a L submandibular collection: linear probe, real-time guidance only, "
        "no diagnostic review of the gland. 2 mL pus aspirated."
    )
    facts = checker.nlp(note)._.cdt_facts
    assert facts.read_elsewhere
    assert rule_code(facts, False, checker.catalog) == "D0386"


def test_what_a_kind_of_study_can_show_is_not_a_study_taken(checker):
    # a letter explaining an MRI it has only booked
    facts = checker.nlp(
        "I have booked an MRI of your jaw joints for 3 June. Why an MRI? X-rays miss the disc; an MRI shows it."
    )._.cdt_facts
    assert "mri" not in facts.performed
    assert "mri" in facts.ordered
    # while one said to be taken still is
    assert "mri" in checker.nlp("An MRI was taken today. It shows the disc forward.")._.cdt_facts.performed


@pytest.mark.parametrize(
    ("note", "not_done", "ordered"),
    [
        # services listed as planned for a predetermination ("cone beam CT" names a CT too)
        (
            "We request predetermination for the following planned services: cone beam CT of both jaws.",
            {"cbct", "ct"},
            "cbct",
        ),
        # what the writer wants done
        ("No imaging at the school van. I want a 3D scan of the #8 area before anyone operates.", {"cbct"}, "cbct"),
        # a referral sent out for the study
        ("Referral faxed to Riverside Pediatric Dental for a limited-field CBCT and exam.", {"cbct"}, "cbct"),
        # planned, then "not done" right after its name
        (
            "I planned a quick portable ultrasound of the lump. US not done - the probe would not connect.",
            {"ultrasound"},
            "ultrasound",
        ),
        # "cancelled" right after its name
        ("The family decided against further scans. CBCT cancelled. Mouth care only.", {"cbct"}, None),
        # a list or session called off after a dash; a form's "Procedure requested:"; "listed for"
        ("Sialendoscopy session 3/4 - CANCELLED. Febrile, pus at the papilla; antibiotics.", {"sialoendoscopy"}, None),
        ("3. Procedure requested: sialendoscopy of the L SMG.\n4. Urgency: routine", {"sialoendoscopy"}, None),
        ("US R SMG by me: 5 mm stone. Listed for sialendoscopy and basket retrieval.", {"sialoendoscopy"}, None),
    ],
)
def test_a_study_not_done_at_this_visit_is_not_performed(checker, note, not_done, ordered):
    facts = checker.nlp(note)._.cdt_facts
    assert not facts.performed & not_done
    if ordered is not None:
        assert ordered in facts.ordered


def test_a_physician_assistant_is_not_a_periapical_film(checker):
    facts = checker.nlp("SURGEON: G. Whitlock DDS MD. ASSISTANT: J. Kerr PA-C. R TMJ arthroscopy.")._.cdt_facts
    assert "intraoral_film" not in facts.performed


def test_a_study_dated_by_month_and_year_is_an_earlier_one(checker):
    facts = checker.nlp("INDICATIONS: pain despite splint. IMAGING: see MRI 01/2031. Arthroscope placed.")._.cdt_facts
    assert "mri" not in facts.performed
    assert "mri" in facts.prior


@pytest.mark.parametrize(
    ("note", "flags"),
    [
        # a hospital's report forwarded to the dentist: captured and read there
        (
            "Forwarded from St. Catherine Regional Medical Center - Dept of Radiology\n"
            "EXAM: MRI MANDIBLE W/WO CONTRAST\nFINDINGS: Abnormal marrow signal L mandibular body.\n"
            "IMPRESSION: Concerning for osteomyelitis.\nDictated by: A. Chen MD\n"
            "Dr. Brooks (our office): pt seen at the ED, admitted by ENT who ordered the MRI; hospital's report above.",
            ("outside_images", "read_elsewhere"),
        ),
        # read by the dentist who took the scan: an own read
        (
            "Limited CBCT lower L molar area captured, 2nd exposure diagnostic. Clinical result of 2nd scan "
            "(read by Dr Amiri who took it): #19 distal root vertical radiolucent line. Consistent with VRF #19.",
            ("own_read",),
        ),
    ],
)
def test_who_captured_and_who_read_named_in_passing(checker, note, flags):
    facts = checker.nlp(note)._.cdt_facts
    assert all(getattr(facts, flag) for flag in flags)


def test_a_form_question_answered_yes_is_a_study_done(checker):
    note = "SALIVARY FORM\nUS performed by this provider? Y - 12 MHz linear, L parotid"
    assert "ultrasound" in checker.nlp(note)._.cdt_facts.performed


def test_a_study_done_at_another_clinic_is_not_performed_here(checker):
    note = (
        "Three episodes of R parotid swelling with meals since June. Ultrasound at the community clinic "
        "showed a dilated duct but no stone; I'd like to see the ductal anatomy before deciding on sialendoscopy."
    )
    facts = checker.nlp(note)._.cdt_facts
    assert "ultrasound" not in facts.performed
    # the same words for a study this office did stay performed
    here = "Ultrasound at the chairside today by me: duct dilated 3 mm, 4 mm stone at the hilum."
    assert "ultrasound" in checker.nlp(here)._.cdt_facts.performed


SENT_FOR_A_REPORT = (
    "Dr. Ames took a limited CBCT at her office last week and sent me the volume for a report; I took no images.\n"
    "Apical lucency 4 mm on the distal root of #19 with a thickened ligament.\n"
    "Persistent apical periodontitis #19 from a missed canal."
)


@pytest.mark.parametrize(
    ("note", "own_read", "read_elsewhere"),
    [
        # images sent to this provider for a report are this provider's read
        (SENT_FOR_A_REPORT, True, True),
        # images this office sent out for someone else's report are read elsewhere
        ("Limited CBCT #19 taken here, sent to Dr. Lowe for a report.", False, True),
    ],
)
def test_who_reads_images_sent_for_a_report(checker, note, own_read, read_elsewhere):
    facts = checker.nlp(note)._.cdt_facts
    assert (facts.own_read, facts.read_elsewhere) == (own_read, read_elsewhere)
    assert checker.check(note, code="D0391").items["interpretation"].present is own_read


@pytest.mark.parametrize(
    "note",
    [
        "US R submandibular: 6 mm stone at the hilum. Will set her up for sialendoscopy with ENT next month.",
        "US R submandibular: 6 mm stone at the hilum. Sending to peds ENT for sialendoscopic removal.",
        "US R submandibular: 6 mm stone at the hilum. Sending her to ENT for sialendoscopy next month.",
    ],
)
def test_a_procedure_arranged_elsewhere_is_ordered_not_performed(checker, note):
    facts = checker.nlp(note)._.cdt_facts
    assert "sialoendoscopy" not in facts.performed and "sialoendoscopy" in facts.ordered
    assert "ultrasound" in facts.performed


@pytest.mark.parametrize(
    ("note", "attribute", "value", "own_wording"),
    [
        # a cone beam of the joints is no plain TMJ film; plain TMJ views stay one
        (
            "We took the cone beam TMJ views today, both joints open and closed.",
            "performed",
            "tmj_radiograph",
            "TMJ views taken today, open and closed, both sides.",
        ),
        # a field collimated to an arch is that arch; collimated to a tooth region stays limited
        (
            "CBCT, FOV collimated to maxilla/midface (mandible excluded), 0.25 mm voxel.",
            "fields_of_view",
            "limited",
            "CBCT, FOV collimated to the #30 region, 5 x 5 cm.",
        ),
        # a planning package named in a subtraction is no simulation; named alone it still is
        (
            "Limited CBCT #30 today, same settings as the baseline; ran volume subtraction against the baseline "
            "in Romexis after registering on the teeth. Subtraction map: 2 mm bone gain at the crest.",
            "postprocessing",
            "simulation",
            "Implant #30 planned in coDiagnostiX on the CBCT, 4.1 x 10 mm.",
        ),
        # volumes registered for a subtraction are no fusion; two modalities registered still are
        (
            "Baseline and 12-month CBCT of #8-#9, grey-value subtraction of the registered volumes: 2 mm gain.",
            "postprocessing",
            "fusion",
            "CBCT and MRI of the L TMJ co-registered: disc anterior to the condyle.",
        ),
    ],
)
def test_a_look_alike_wording_is_not_the_fact_its_own_wording_is(checker, note, attribute, value, own_wording):
    assert value not in getattr(checker.nlp(note)._.cdt_facts, attribute)
    assert value in getattr(checker.nlp(own_wording)._.cdt_facts, attribute)
